/**
 * MNIST like Keras's `mnist.load_data()`: one call, real data.
 *
 * The full set (60,000 train / 10,000 test) is used when `npm run download-mnist` has put its
 * four verified files in data/mnist/full. Otherwise the 10,000-image test set that ships in
 * data/mnist is split, always the same way, into 8,000 train / 2,000 test images.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IDX_MAGIC, IdxFormatError, readIdxFile } from './idx';
import { createRng, shuffledIndices } from '../random';

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

/** Images and their labels: image i is `images[i*784 .. (i+1)*784)`, row-major, 0..255. */
export interface MnistSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface MnistData {
  /** 'full': the downloaded 60k/10k set; 'embedded': the shipped test set split 8,000/2,000. */
  source: 'full' | 'embedded';
  train: MnistSplit;
  test: MnistSplit;
  /** One line saying which data this is and, if embedded, how to get the full set. */
  notice: string;
}

/** The canonical file names of the full set. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

/** MD5 of each canonical .gz (from data/mnist/README.md). */
export const MNIST_MD5: Readonly<Record<string, string>> = {
  [MNIST_FILES.trainImages]: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
  [MNIST_FILES.trainLabels]: 'd53e105ee54ea40749a09fcbcd1e9432',
  [MNIST_FILES.testImages]: '9fb629c4189551a2d022fa330f9573f3',
  [MNIST_FILES.testLabels]: 'ec29112dd5afa0611ce80d1b7f02629c',
};

/** The command that downloads the full set, as notices and errors print it. */
export const DOWNLOAD_COMMAND = 'npm run download-mnist';

/** Seed and sizes of the fixed split of the embedded set. */
export const EMBEDDED_SPLIT = { seed: 20240601, train: 8000, test: 2000 } as const;

/** data/mnist of this project, found from this file (not from the current directory). */
export const DEFAULT_MNIST_DIR = path.resolve(__dirname, '..', '..', 'data', 'mnist');

export interface LoadMnistOptions {
  /**
   * Folder with the embedded test set; the full set is looked for in its `full` subfolder.
   * Default: the project's data/mnist.
   */
  dataDir?: string;
  /** Expected MD5 of each full-set file; `false` skips the check. Default: the canonical MD5s (MNIST_MD5). */
  checksums?: Readonly<Record<string, string>> | false;
  /** Do not print the notice (console.log). Default false. */
  quiet?: boolean;
}

/** Reads an images file and a labels file into one split, checking they belong together. */
export function readMnistSplit(imagesPath: string, labelsPath: string): MnistSplit {
  const images = readIdxFile(imagesPath, { magic: IDX_MAGIC.images, dims: [null, MNIST_SIDE, MNIST_SIDE] });
  const labels = readIdxFile(labelsPath, { magic: IDX_MAGIC.labels, dims: [null] });
  const count = images.dims[0];
  if (labels.dims[0] !== count) {
    const wanted = `${count} labels, one per image in ${path.basename(imagesPath)}`;
    const hint = 'The images and labels come from different downloads: delete both and download them again';
    throw new IdxFormatError(labelsPath, 'count', wanted, `${labels.dims[0]} labels`, `${hint} (${DOWNLOAD_COMMAND}).`);
  }
  if (count === 0) throw new IdxFormatError(imagesPath, 'count', 'at least 1 image', '0 images');
  const bad = labels.data.findIndex((digit) => digit > 9);
  if (bad >= 0) throw new IdxFormatError(labelsPath, `label ${bad}`, 'a digit 0-9', String(labels.data[bad]));
  return { images: images.data, labels: labels.data, count };
}

/** The shipped 10,000 test digits, unsplit (benchmarks and evaluation use them). */
export function loadEmbeddedTestSet(dataDir: string = DEFAULT_MNIST_DIR): MnistSplit {
  const imagesPath = path.join(dataDir, MNIST_FILES.testImages);
  const labelsPath = path.join(dataDir, MNIST_FILES.testLabels);
  if (!fs.existsSync(imagesPath) || !fs.existsSync(labelsPath)) {
    throw new Error(
      `MNIST: the embedded test set is missing from ${dataDir} ` +
        `(expected ${MNIST_FILES.testImages} and ${MNIST_FILES.testLabels}). ` +
        `Restore it with \`git checkout -- data/mnist\`, or download the full set with \`${DOWNLOAD_COMMAND}\`.`,
    );
  }
  return readMnistSplit(imagesPath, labelsPath);
}

/** A new split holding the examples at `indices`, in that order. */
function selectExamples(split: MnistSplit, indices: Int32Array): MnistSplit {
  const images = new Uint8Array(indices.length * MNIST_PIXELS);
  indices.forEach((i, k) =>
    images.set(split.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), k * MNIST_PIXELS),
  );
  return { images, labels: Uint8Array.from(indices, (i) => split.labels[i]), count: indices.length };
}

/** Both splits of the full set in `fullDir`, each file's MD5 checked first unless `checksums` is false. */
function loadFullSet(fullDir: string, checksums: Readonly<Record<string, string>> | false) {
  const at = (name: string) => path.join(fullDir, name);
  for (const name of Object.values(MNIST_FILES)) {
    const want = checksums === false ? undefined : checksums[name];
    if (want === undefined) continue;
    const found = crypto
      .createHash('md5')
      .update(fs.readFileSync(at(name)))
      .digest('hex');
    if (found !== want.toLowerCase()) {
      const hint = `The file is not the canonical MNIST file: delete it and run \`${DOWNLOAD_COMMAND}\` again.`;
      throw new IdxFormatError(at(name), 'checksum (md5)', want, found, hint);
    }
  }
  return {
    train: readMnistSplit(at(MNIST_FILES.trainImages), at(MNIST_FILES.trainLabels)),
    test: readMnistSplit(at(MNIST_FILES.testImages), at(MNIST_FILES.testLabels)),
  };
}

/**
 * The embedded test set split into train and test, the same way every time: shuffled with
 * EMBEDDED_SPLIT.seed, the last EMBEDDED_SPLIT.test of every 10,000 images held out as the test split.
 */
export function splitEmbedded(embedded: MnistSplit): { train: MnistSplit; test: MnistSplit } {
  const heldOut = EMBEDDED_SPLIT.test / (EMBEDDED_SPLIT.train + EMBEDDED_SPLIT.test);
  const trainCount = embedded.count - Math.round(embedded.count * heldOut);
  const order = shuffledIndices(embedded.count, createRng(EMBEDDED_SPLIT.seed));
  return {
    train: selectExamples(embedded, order.subarray(0, trainCount)),
    test: selectExamples(embedded, order.subarray(trainCount)),
  };
}

/**
 * The best MNIST data present: the full set when its four files are in `<dataDir>/full`,
 * else the embedded test set split 8,000/2,000. Prints a one-line notice unless `quiet`.
 * Throws (naming the file and field) when the full set is present but damaged.
 */
export function loadMnist(options: LoadMnistOptions = {}): MnistData {
  const dataDir = options.dataDir ?? DEFAULT_MNIST_DIR;
  const fullDir = path.join(dataDir, 'full');
  const names = Object.values(MNIST_FILES);
  const missing = names.filter((name) => !fs.existsSync(path.join(fullDir, name)));
  const count = (n: number) => n.toLocaleString('en-US');
  const sizes = (split: { train: MnistSplit; test: MnistSplit }) =>
    `${count(split.train.count)} train / ${count(split.test.count)} test`;

  let data: MnistData;
  if (missing.length === 0) {
    const split = loadFullSet(fullDir, options.checksums ?? MNIST_MD5);
    data = { source: 'full', ...split, notice: `MNIST: full set from ${fullDir} (${sizes(split)} images).` };
  } else {
    const embedded = loadEmbeddedTestSet(dataDir);
    const split = splitEmbedded(embedded);
    const incomplete =
      missing.length < names.length ? ` (the full set in ${fullDir} is incomplete: ${missing.join(', ')} missing)` : '';
    data = {
      source: 'embedded',
      ...split,
      notice:
        `MNIST: using the embedded ${count(embedded.count)}-image test set, split into ${sizes(split)}${incomplete}; ` +
        `for the full 60,000-image training set run \`${DOWNLOAD_COMMAND}\`.`,
    };
  }
  if (!options.quiet) console.log(data.notice);
  return data;
}
