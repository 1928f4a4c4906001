/**
 * Seeds for reproducible weights and training randomness.
 *
 * One base seed fans out into many independent streams (one per layer, per iteration, per
 * purpose) through a small integer hash, so that resuming at iteration k needs only the base
 * seed and k, never a saved generator state.
 */
import { tf } from '../tf';

/** Mixes a base seed with any number of integer parts into a new 32-bit seed. */
export function deriveSeed(base: number, ...parts: number[]): number {
  let h = (Math.trunc(base) ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (Math.trunc(part) >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A fresh random 32-bit seed, for runs where the caller gave none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** Weight initializer type, as tfjs layer options accept it. */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * Hands out Glorot-uniform kernel initializers (the Keras and tfjs default) for successive
 * layers. With a seed each layer gets its own derived seed; without one, tfjs's unseeded
 * default is used (undefined means "layer default").
 */
export function kernelInitializers(seed: number | undefined): () => Initializer | undefined {
  let layerIndex = 0;
  return () => {
    layerIndex += 1;
    return seed === undefined ? undefined : tf.initializers.glorotUniform({ seed: deriveSeed(seed, layerIndex) });
  };
}
