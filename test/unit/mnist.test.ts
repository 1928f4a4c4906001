/**
 * IDX reading (good and damaged files) and loadMnist: the shipped test set, the fixed
 * embedded split, and the preference for a complete, verified full set.
 */
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import {
  DEFAULT_MNIST_DIR,
  IdxFormatError,
  MNIST_FILES,
  MNIST_MD5,
  loadEmbeddedTestSet,
  loadMnist,
  parseIdx,
  readIdxFile,
  type MnistSplit,
} from '../../lib/data';

/** How many examples of each digit: index d holds the count of label d. */
function digitCounts(split: MnistSplit): number[] {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]]++;
  return counts;
}

const TEMP_ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-test-'));
after(() => fs.rmSync(TEMP_ROOT, { recursive: true, force: true }));
let tempCount = 0;
function tempDir(): string {
  const dir = path.join(TEMP_ROOT, String(tempCount++));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** IDX bytes written by hand: 0, 0, type, rank, big-endian dims, then the values. */
function idxBytes(typeCode: number, dims: number[], values: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = typeCode;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

/** `count` 28x28 images whose pixels depend on the image number, and labels i % 10. */
function fakeMnist(count: number, offset = 0): { images: Buffer; labels: Buffer; pixels: Uint8Array } {
  const pixels = new Uint8Array(count * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + offset * 13) % 256;
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = (i + offset) % 10;
  return { images: idxBytes(0x08, [count, 28, 28], pixels), labels: idxBytes(0x08, [count], labels), pixels };
}

function md5(bytes: Uint8Array): string {
  return crypto.createHash('md5').update(bytes).digest('hex');
}

/** Writes a full set (gzip) into `<dataDir>/full` and returns the MD5s a caller would expect. */
function writeFullSet(
  dataDir: string,
  trainCount: number,
  testCount: number,
  trainLabelCount = trainCount,
): Record<string, string> {
  const fullDir = path.join(dataDir, 'full');
  fs.mkdirSync(fullDir, { recursive: true });
  const train = fakeMnist(trainCount, 1);
  const trainLabels = fakeMnist(trainLabelCount, 1).labels;
  const test = fakeMnist(testCount, 2);
  const contents: Record<string, Buffer> = {
    [MNIST_FILES.trainImages]: zlib.gzipSync(train.images),
    [MNIST_FILES.trainLabels]: zlib.gzipSync(trainLabels),
    [MNIST_FILES.testImages]: zlib.gzipSync(test.images),
    [MNIST_FILES.testLabels]: zlib.gzipSync(test.labels),
  };
  const checksums: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(contents)) {
    fs.writeFileSync(path.join(fullDir, name), bytes);
    checksums[name] = md5(bytes);
  }
  return checksums;
}

/** Asserts an IdxFormatError whose message names the file and field, and says expected/found. */
function assertIdxError(fn: () => unknown, file: string, field: string | RegExp): IdxFormatError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof IdxFormatError, `expected an IdxFormatError, got ${String(caught)}`);
  const error = caught as IdxFormatError;
  if (typeof field === 'string') assert.equal(error.field, field);
  else assert.match(error.field, field);
  assert.ok(error.message.includes(file), `message names the file: ${error.message}`);
  assert.ok(error.message.includes(error.field), `message names the field: ${error.message}`);
  assert.match(error.message, /expected .+, found .+/);
  return error;
}

describe('IDX reading', () => {
  it('reads raw and gzip files alike (detected by magic bytes, not by name)', () => {
    const dir = tempDir();
    const { images, pixels } = fakeMnist(3);
    fs.writeFileSync(path.join(dir, 'raw.gz'), images); // misleading name: raw bytes
    fs.writeFileSync(path.join(dir, 'packed.idx'), zlib.gzipSync(images));
    for (const name of ['raw.gz', 'packed.idx']) {
      const parsed = readIdxFile(path.join(dir, name));
      assert.deepEqual(parsed.dims, [3, 28, 28]);
      assert.ok(parsed.data instanceof Uint8Array);
      assert.deepEqual(Array.from(parsed.data), Array.from(pixels));
    }
  });

  it('returns a copy, not a view of the bytes it was given', () => {
    const bytes = idxBytes(0x08, [2], new Uint8Array([4, 5]));
    const parsed = parseIdx(bytes, 'copy');
    bytes[bytes.length - 1] = 99;
    assert.deepEqual(Array.from(parsed.data), [4, 5]);
  });

  it('rejects a truncated file (values missing): byte length, expected vs found', () => {
    const { images } = fakeMnist(2);
    const error = assertIdxError(
      () => parseIdx(images.subarray(0, images.length - 10), 'short-images', { dims: [null, 28, 28] }),
      'short-images',
      'byte length',
    );
    assert.equal(error.expected.startsWith(String(16 + 2 * 784)), true);
    assert.match(error.found, new RegExp(`^${16 + 2 * 784 - 10} bytes \\(truncated\\)`));
  });

  it('rejects a truncated header and a file too short for a magic number', () => {
    assertIdxError(() => parseIdx(fakeMnist(1).images.subarray(0, 9), 'cut-header'), 'cut-header', 'byte length');
    assertIdxError(() => parseIdx(new Uint8Array([0, 0]), 'two-bytes'), 'two-bytes', 'magic');
  });

  it('rejects a truncated gzip stream, naming the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'cut.gz');
    const packed = zlib.gzipSync(fakeMnist(5).images);
    fs.writeFileSync(file, packed.subarray(0, packed.length >> 1));
    assertIdxError(() => readIdxFile(file), file, 'gzip stream');
  });

  it('rejects extra bytes after the values', () => {
    const bytes = Buffer.concat([idxBytes(0x08, [3], new Uint8Array([1, 2, 3])), Buffer.from([0])]);
    const error = assertIdxError(() => parseIdx(bytes, 'long'), 'long', 'byte length');
    assert.match(error.found, /extra bytes/);
  });

  it('rejects a wrong magic number: not IDX, unknown type, or the wrong kind of file', () => {
    const images = fakeMnist(1).images;
    const notIdx = Buffer.from(images);
    notIdx[0] = 0x50; // e.g. a PNG or text file
    assertIdxError(() => parseIdx(notIdx, 'not-idx'), 'not-idx', 'magic');
    const badType = Buffer.from(images);
    badType[2] = 0x07;
    assertIdxError(() => parseIdx(badType, 'bad-type'), 'bad-type', /^magic/);
    // A labels file where images are expected: magic 2049 instead of 2051.
    const labels = fakeMnist(1).labels;
    const error = assertIdxError(
      () => parseIdx(labels, 'labels-as-images', { magic: 2051 }),
      'labels-as-images',
      'magic',
    );
    assert.match(error.expected, /2051/);
    assert.match(error.found, /2049/);
  });

  it('rejects wrong rank and wrong dimensions, saying which dimension', () => {
    const wrongSide = idxBytes(0x08, [1, 27, 28], new Uint8Array(27 * 28));
    const error = assertIdxError(
      () => parseIdx(wrongSide, 'side-27', { dims: [null, 28, 28] }),
      'side-27',
      'dimension 1',
    );
    assert.match(error.expected, /^28/);
    assert.equal(error.found, '27');
    const flat = idxBytes(0x08, [1, 784], new Uint8Array(784));
    const rankError = assertIdxError(() => parseIdx(flat, 'flat', { dims: [null, 28, 28] }), 'flat', 'rank');
    assert.match(rankError.expected, /^3/);
    assert.equal(rankError.found, '2');
  });

  it('names the missing file', () => {
    const missing = path.join(tempDir(), 'nope.gz');
    const error = assertIdxError(() => readIdxFile(missing), missing, 'file');
    assert.match(error.found, /no such file/);
  });
});

describe('the shipped test set', () => {
  const readmeText = fs.readFileSync(path.join(DEFAULT_MNIST_DIR, 'README.md'), 'utf8');

  it('loads 10,000 digits with the documented label counts; the first is a 7', () => {
    const started = performance.now();
    const test = loadEmbeddedTestSet();
    const ms = performance.now() - started;
    console.log(`loadEmbeddedTestSet: ${ms.toFixed(1)} ms`);
    assert.equal(test.count, 10000);
    assert.equal(test.images.length, 10000 * 784);
    assert.deepEqual(digitCounts(test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.equal(test.labels[0], 7);
  });

  it('is byte for byte the content whose sha256 the README records', () => {
    const test = loadEmbeddedTestSet();
    // Rebuild the decompressed IDX files from what the loader returned and hash them.
    const rebuiltImages = idxBytes(0x08, [10000, 28, 28], test.images);
    const rebuiltLabels = idxBytes(0x08, [10000], test.labels);
    const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
    const row = (file: string) => {
      const match = new RegExp(`\\| ${file.replace(/\./g, '\\.')} \\| [0-9a-f]{64} \\| ([0-9a-f]{64}) \\|`).exec(
        readmeText,
      );
      assert.ok(match, `README lists the sha256 of ${file}`);
      return match[1];
    };
    assert.equal(sha(rebuiltImages), row(MNIST_FILES.testImages));
    assert.equal(sha(rebuiltLabels), row(MNIST_FILES.testLabels));
  });

  it('loads well under a second (median of 3)', () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      loadMnist({ quiet: true });
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    console.log(`loadMnist(): ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
    assert.ok(times[1] < 1000, `median ${times[1]} ms`);
  });

  it('has the canonical MD5s the downloader verifies', () => {
    for (const [name, expected] of Object.entries(MNIST_MD5)) {
      assert.ok(readmeText.includes(`| ${name} | ${expected} |`), `README lists md5 ${expected} for ${name}`);
    }
    assert.equal(Object.keys(MNIST_MD5).length, 4);
  });
});

describe('loadMnist', () => {
  /** A data folder holding a copy of the embedded test set (and no full set). */
  function embeddedOnlyDir(): string {
    const dir = tempDir();
    for (const name of [MNIST_FILES.testImages, MNIST_FILES.testLabels])
      fs.copyFileSync(path.join(DEFAULT_MNIST_DIR, name), path.join(dir, name));
    return dir;
  }

  it('with no arguments uses the best data present and prints one notice line', (t) => {
    const lines: string[] = [];
    t.mock.method(console, 'log', (line: string) => lines.push(line));
    const data = loadMnist();
    const fullDir = path.join(DEFAULT_MNIST_DIR, 'full');
    const hasFull = Object.values(MNIST_FILES).every((name) => fs.existsSync(path.join(fullDir, name)));
    assert.equal(data.source, hasFull ? 'full' : 'embedded');
    assert.deepEqual([data.train.count, data.test.count], hasFull ? [60000, 10000] : [8000, 2000]);
    assert.deepEqual(lines, [data.notice]);
    assert.ok(!data.notice.includes('\n'));
  });

  it('without the full set: splits the embedded set 8,000/2,000, always the same way, says how to get it', () => {
    const dir = embeddedOnlyDir();
    const first = loadMnist({ dataDir: dir, quiet: true });
    const second = loadMnist({ dataDir: dir, quiet: true });
    assert.equal(first.source, 'embedded');
    assert.equal(first.train.count, 8000);
    assert.equal(first.test.count, 2000);
    assert.equal(first.train.images.length, 8000 * 784);
    assert.match(first.notice, /embedded 10,000-image test set/);
    assert.match(first.notice, /8,000 train \/ 2,000 test/);
    assert.match(first.notice, /npm run download-mnist/);
    assert.deepEqual(first.train.labels, second.train.labels);
    assert.deepEqual(first.test.images, second.test.images);
    // A partition of the 10,000: per-digit counts add up, and the order is shuffled.
    const trainCounts = digitCounts(first.train);
    const testCounts = digitCounts(first.test);
    assert.deepEqual(
      trainCounts.map((c, d) => c + testCounts[d]),
      [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    );
    const embedded = loadEmbeddedTestSet(dir);
    assert.notDeepEqual(first.train.labels.subarray(0, 50), embedded.labels.subarray(0, 50));
  });

  it('prints nothing when quiet', (t) => {
    const lines: string[] = [];
    t.mock.method(console, 'log', (line: string) => lines.push(line));
    loadMnist({ dataDir: embeddedOnlyDir(), quiet: true });
    assert.deepEqual(lines, []);
  });

  it('prefers a complete full set whose checksums match', (t) => {
    const dir = tempDir();
    const checksums = writeFullSet(dir, 12, 5);
    const lines: string[] = [];
    t.mock.method(console, 'log', (line: string) => lines.push(line));
    const data = loadMnist({ dataDir: dir, checksums });
    assert.equal(data.source, 'full');
    assert.equal(data.train.count, 12);
    assert.equal(data.test.count, 5);
    assert.deepEqual(Array.from(data.train.images), Array.from(fakeMnist(12, 1).pixels));
    assert.deepEqual(Array.from(data.test.labels), [2, 3, 4, 5, 6]);
    assert.match(data.notice, /full set/);
    assert.deepEqual(lines, [data.notice]);
  });

  it('rejects full-set files that are not the canonical ones (MD5), naming the file', () => {
    const dir = tempDir();
    writeFullSet(dir, 3, 2);
    const file = path.join(dir, 'full', MNIST_FILES.trainImages);
    const error = assertIdxError(() => loadMnist({ dataDir: dir, quiet: true }), file, 'checksum (md5)');
    assert.equal(error.expected, MNIST_MD5[MNIST_FILES.trainImages]);
    assert.equal(loadMnist({ dataDir: dir, quiet: true, checksums: false }).train.count, 3);
  });

  it('rejects a full set whose images and labels counts differ', () => {
    const dir = tempDir();
    const checksums = writeFullSet(dir, 12, 5, 11);
    const error = assertIdxError(
      () => loadMnist({ dataDir: dir, checksums, quiet: true }),
      path.join(dir, 'full', MNIST_FILES.trainLabels),
      'count',
    );
    assert.match(error.expected, /^12 labels/);
    assert.match(error.found, /^11 labels/);
  });

  it('rejects a label outside 0-9', () => {
    const dir = tempDir();
    const checksums = writeFullSet(dir, 2, 2);
    const file = path.join(dir, 'full', MNIST_FILES.testLabels);
    const bad = zlib.gzipSync(idxBytes(0x08, [2], new Uint8Array([3, 12])));
    fs.writeFileSync(file, bad);
    assertIdxError(
      () => loadMnist({ dataDir: dir, checksums: { ...checksums, [MNIST_FILES.testLabels]: md5(bad) }, quiet: true }),
      file,
      'label 1',
    );
  });

  it('falls back to the embedded set when the full set is incomplete, and says which file is missing', () => {
    const dir = embeddedOnlyDir();
    const checksums = writeFullSet(dir, 4, 4);
    fs.rmSync(path.join(dir, 'full', MNIST_FILES.testLabels));
    const data = loadMnist({ dataDir: dir, checksums, quiet: true });
    assert.equal(data.source, 'embedded');
    assert.ok(data.notice.includes(`${MNIST_FILES.testLabels} missing`), data.notice);
  });

  it('explains how to restore a missing embedded set', () => {
    const dir = tempDir();
    assert.throws(
      () => loadMnist({ dataDir: dir, quiet: true }),
      (err: Error) => {
        assert.ok(err.message.includes(dir));
        assert.match(err.message, /git checkout -- data\/mnist/);
        assert.match(err.message, /npm run download-mnist/);
        return true;
      },
    );
  });
});
