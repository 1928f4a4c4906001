/**
 * Walking a latent space: points on the way between two codes (GAN noise vectors or an
 * autoencoder's latent codes), to be decoded into a strip of images that morph from one end
 * to the other; and the GAN's fixed-noise samples rearranged as one "how it learned" strip.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-node';
import { tf } from '../tf';

export interface InterpolateOptions {
  /**
   * 'linear' (default): evenly spaced points on the straight segment, from + t (to - from).
   * 'spherical': slerp, the great-circle arc between the two directions, with the length
   * interpolated linearly. For Gaussian noise the straight segment's middle has a smaller
   * norm than any typical sample (two independent N(0, I) vectors are nearly orthogonal, so the
   * midpoint's norm is about 0.71 of theirs); the arc stays at typical norms.
   */
  method?: 'linear' | 'spherical';
}

/** The vector of a [d] or [1, d] tensor as [1, d] (other shapes throw, naming the argument). */
function asRow(caller: string, name: string, vector: Tensor): Tensor2D {
  if (vector.rank === 1 || (vector.rank === 2 && vector.shape[0] === 1)) return vector.reshape([1, vector.size]);
  throw new Error(
    `${caller}: ${name} must be one vector, shape [d] or [1, d]; got shape [${vector.shape.join(', ')}].`,
  );
}

/**
 * `steps` points from `from` to `to` (both included), as a [steps, d] tensor: row k is the
 * point at t = k / (steps - 1). The inputs ([d] or [1, d] each, same d) stay the caller's; the
 * result is a new tensor for the caller to dispose. Nothing else is left allocated.
 */
export function interpolateLatent(from: Tensor, to: Tensor, steps: number, options: InterpolateOptions = {}): Tensor2D {
  const caller = 'interpolateLatent';
  if (!Number.isInteger(steps) || steps < 2) {
    throw new Error(`${caller}: steps must be a whole number >= 2 (both ends are included); got ${steps}.`);
  }
  const method = options.method ?? 'linear';
  if (method !== 'linear' && method !== 'spherical') {
    throw new Error(`${caller}: options.method must be 'linear' or 'spherical'; got ${String(method)}.`);
  }
  return tf.tidy(() => {
    const a = asRow(caller, 'from', from);
    const b = asRow(caller, 'to', to);
    if (a.shape[1] !== b.shape[1]) {
      throw new Error(
        `${caller}: from has ${a.shape[1]} values and to has ${b.shape[1]}; both ends must have the same length.`,
      );
    }
    if (a.dtype !== 'float32' || b.dtype !== 'float32') {
      throw new Error(`${caller}: from and to must be float32 tensors; got ${a.dtype} and ${b.dtype}.`);
    }
    // t as a column [steps, 1], broadcast against the [1, d] ends.
    const t = tf.linspace(0, 1, steps).reshape([steps, 1]) as Tensor2D;
    return (method === 'spherical' ? slerp(a, b, t) : undefined) ?? (a.add(b.sub(a).mul(t)) as Tensor2D);
  });
}

/**
 * Spherical interpolation of direction, linear interpolation of length. Where the two directions
 * are (nearly) parallel or one end is zero there is no arc: undefined, and the caller walks straight.
 */
function slerp(a: Tensor2D, b: Tensor2D, t: Tensor2D): Tensor2D | undefined {
  const normA = a.norm();
  const normB = b.norm();
  const [lengthA, lengthB] = [normA.dataSync()[0], normB.dataSync()[0]];
  if (lengthA === 0 || lengthB === 0) return undefined;
  const unitA = a.div(normA);
  const unitB = b.div(normB);
  const cosine = Math.min(1, Math.max(-1, unitA.mul(unitB).sum().dataSync()[0]));
  const angle = Math.acos(cosine);
  const sine = Math.sin(angle);
  if (sine < 1e-6) return undefined;
  // Weights sin((1 - t) angle) / sin(angle) and sin(t angle) / sin(angle), one per row.
  const weightA = tf.sub(1, t).mul(angle).sin().div(sine);
  const weightB = t.mul(angle).sin().div(sine);
  const direction = unitA.mul(weightA).add(unitB.mul(weightB));
  const length = tf.add(lengthA, t.mul(lengthB - lengthA));
  return direction.mul(length) as Tensor2D;
}

/** One GAN sample as trainGan's onSample receives it (structurally: any such object works). */
export interface FixedNoiseSample {
  iteration: number;
  /** The sample's images, 28*28 values each, one after another (the same fixed noise every time). */
  images: Float32Array;
}

export interface FixedNoiseStrip {
  /** rows x cols images in reading order, for imageGrid. */
  images: Float32Array;
  /** One row per noise vector. */
  rows: number;
  /** One column per sample (sampling interval), oldest first. */
  cols: number;
  /** The iteration of each column, e.g. for captions under the last row. */
  iterations: number[];
}

/**
 * Rearranges the samples of a GAN run into a strip: row r shows what the generator made of
 * fixed noise vector r at each sampling interval (columns, in the order given). Because
 * trainGan draws its samples from the same noise every time, a row is one vector's history,
 * from noise to digit.
 */
export function fixedNoiseStrip(samples: readonly FixedNoiseSample[], vectors = 8, imageSize = 28): FixedNoiseStrip {
  const caller = 'fixedNoiseStrip';
  if (samples.length === 0)
    throw new Error(`${caller}: samples is empty; collect the samples in trainGan's onSample first.`);
  if (!Number.isInteger(vectors) || vectors < 1)
    throw new Error(`${caller}: vectors must be a whole number >= 1; got ${vectors}.`);
  const pixels = imageSize * imageSize;
  samples.forEach((sample, column) => {
    const available = sample.images.length / pixels;
    if (!Number.isInteger(available)) {
      throw new Error(
        `${caller}: samples[${column}].images holds ${sample.images.length} values, ` +
          `not a whole number of ${imageSize}x${imageSize} images.`,
      );
    }
    if (available < vectors) {
      throw new Error(
        `${caller}: samples[${column}] (iteration ${sample.iteration}) has ${available} images ` +
          `but ${vectors} rows were asked for; lower vectors or raise trainGan's sampleCount.`,
      );
    }
  });
  const cols = samples.length;
  const images = new Float32Array(vectors * cols * pixels);
  for (let row = 0; row < vectors; row++) {
    samples.forEach((sample, column) => {
      images.set(sample.images.subarray(row * pixels, (row + 1) * pixels), (row * cols + column) * pixels);
    });
  }
  return { images, rows: vectors, cols, iterations: samples.map((sample) => sample.iteration) };
}
