/**
 * From MNIST splits to what the chapters train on: scaled tensors, seeded batches, a
 * train/validation split. Tensors are built straight from typed arrays (no intermediate
 * tensors), and each one returned belongs to the caller, who disposes it.
 */
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { MNIST_PIXELS, MNIST_SIDE, type MnistSplit } from './mnist';
import { createRng, randomInt, shuffledIndices } from '../random';
import { checkPixelRange, valueFromByte, type PixelRange } from './pixelRange';

export interface ToTensorOptions {
  /** The range the pixels 0..255 are scaled to: 'tanh' [-1, 1] (the GAN), 'unit' [0, 1] (the autoencoders), 'byte'. */
  range: PixelRange;
  /** Which examples, in this order. Default: all of them. */
  indices?: ArrayLike<number>;
}

function scaledPixels(
  split: MnistSplit,
  options: ToTensorOptions,
  caller: string,
): { values: Float32Array; n: number } {
  checkPixelRange(options.range, caller);
  // A 256-entry table: every pixel value is scaled once, then looked up.
  const table = new Float32Array(256);
  const scaled = valueFromByte(options.range);
  for (let v = 0; v < 256; v++) table[v] = scaled(v);
  const indices = options.indices;
  const n = indices === undefined ? split.count : indices.length;
  const values = new Float32Array(n * MNIST_PIXELS);
  for (let k = 0; k < n; k++) {
    const i = indices === undefined ? k : indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= split.count) {
      throw new RangeError(`${caller}: index ${i} at position ${k} is outside 0..${split.count - 1}.`);
    }
    const from = i * MNIST_PIXELS;
    const to = k * MNIST_PIXELS;
    for (let p = 0; p < MNIST_PIXELS; p++) values[to + p] = table[split.images[from + p]];
  }
  return { values, n };
}

/** Images as a [n, 28, 28, 1] float32 tensor, scaled. The caller disposes it. */
export function toImageTensor(split: MnistSplit, options: ToTensorOptions): Tensor4D {
  const { values, n } = scaledPixels(split, options, 'toImageTensor');
  return tf.tensor4d(values, [n, MNIST_SIDE, MNIST_SIDE, 1], 'float32');
}

/** Images flattened to a [n, 784] float32 tensor, scaled (the fully connected autoencoder). The caller disposes it. */
export function toFlatTensor(split: MnistSplit, options: ToTensorOptions): Tensor2D {
  const { values, n } = scaledPixels(split, options, 'toFlatTensor');
  return tf.tensor2d(values, [n, MNIST_PIXELS], 'float32');
}

function checkBatchArgs(caller: string, count: number, batchSize: number): void {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`${caller}: count must be a positive integer; got ${count}.`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`${caller}: batchSize must be a positive integer; got ${batchSize}.`);
}

/** `batchSize` indices in [0, count), drawn with replacement (numpy's randint, as the book's GAN does). */
export function randomBatchIndices(count: number, batchSize: number, rng: () => number): Int32Array {
  checkBatchArgs('randomBatchIndices', count, batchSize);
  return Int32Array.from({ length: batchSize }, () => randomInt(rng, count));
}

/**
 * `batchSize` images drawn at random with replacement (as the book's GAN loop does with
 * numpy's randint), from the stream that `seed` starts: the same seed, the same batch.
 */
export function randomBatch(images: Tensor4D, batchSize: number, seed: number): Tensor4D {
  const indices = randomBatchIndices(images.shape[0], batchSize, createRng(seed));
  return tf.tidy(() => tf.gather(images, tf.tensor1d(indices, 'int32')));
}

/**
 * One epoch: every index once, shuffled by `rng` (in order without one), cut into batches of
 * `batchSize` (the last may be smaller).
 */
export function epochBatchIndices(count: number, batchSize: number, rng?: () => number): Int32Array[] {
  checkBatchArgs('epochBatchIndices', count, batchSize);
  const order = rng ? shuffledIndices(count, rng) : Int32Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: Math.ceil(count / batchSize) }, (_, b) =>
    order.slice(b * batchSize, (b + 1) * batchSize),
  );
}

/** `n` distinct example indices chosen by `seed` (the same seed, the same digits), e.g. to show 5 test digits. */
export function sampleDigits(split: MnistSplit, n: number, seed: number): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > split.count) {
    throw new RangeError(`sampleDigits: n must be an integer from 0 to ${split.count} (the split's size); got ${n}.`);
  }
  return shuffledIndices(split.count, createRng(seed)).slice(0, n);
}
