/**
 * Seeded randomness for data, models and training: one module, no TensorFlow.
 *
 * One base seed fans out into many independent streams (one per purpose, per layer, per
 * iteration) through a small integer hash, `deriveSeed`, so that resuming at iteration k needs
 * only the base seed and k, never a saved generator state. A derived seed then starts a
 * generator (`createRng`) for shuffles and batches, or seeds TensorFlow's own noise and dropout.
 */

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

/**
 * The streams each training loop derives from its base seed: `deriveSeed(seed, stream, ...)`.
 * The numbers are part of every seeded run's results: changing one
 * changes what a given seed trains, so add new streams rather than renumber old ones.
 */
export const SEED_STREAMS = {
  /** trainGan, per iteration. */
  gan: { batch: 1, noise: 2, dropoutReal: 3, dropoutFake: 4, dropoutCombined: 5, samples: 6 },
  /** fit, per epoch (and batch). */
  fit: { shuffle: 1, dropout: 2 },
} as const;

/**
 * Returns a function giving uniform numbers in [0, 1); the same seed gives the same sequence.
 * mulberry32: 32-bit state, fast, good enough for sampling (not for cryptography).
 */
export function createRng(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
  let state = Math.trunc(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [0, n). */
export function randomInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/** A new array holding 0..n-1 in an order shuffled by `rng` (Fisher-Yates). */
export function shuffledIndices(n: number, rng: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
