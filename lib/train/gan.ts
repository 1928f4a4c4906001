/**
 * The book's GAN training loop (SPEC A3), leak-free, seeded, with sampling.
 *
 * Each iteration: D learns on `batchSize` random real images (label 1) and on as many
 * generated images (label 0); d_loss is their mean; then the combined model learns on the
 * same noise with label 1, which updates only G (see models/dcgan.ts for the freeze).
 *
 * Seeds: one base seed fans out per iteration (batch indices, noise, dropout masks), so the
 * same seed gives the same losses.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-node';

import { tf } from '../tf';
import { randomBatch } from '../data/batches';
import { generatorNoiseDim, type Dcgan } from '../models/dcgan';
import { deriveSeed, randomSeed, SEED_STREAMS } from '../random';
import { assertFinite } from './divergence';
import { compiled, releaseTrainingGraph, syncWeights, type CompiledOptions, type TrainingEngine } from './engine';
import { TrainingMonitor, type MonitorView } from './monitor';

/** Loss history as plain arrays, one entry per iteration. */
export interface GanHistory {
  iteration: number[];
  dLoss: number[];
  dLossReal: number[];
  dLossFake: number[];
  gLoss: number[];
}

export interface GanSample {
  iteration: number;
  /** sampleCount images of 28*28 values in [-1, 1], row-major, one after another. */
  images: Float32Array;
}

export interface GanIterationLosses {
  iteration: number;
  dLoss: number;
  dLossReal: number;
  dLossFake: number;
  gLoss: number;
}

export interface TrainGanOptions {
  /** Number of iterations ("epoch" in the book's code). */
  iterations: number;
  /** Real and fake images per D step, and noise vectors per combined step. */
  batchSize: number;
  /** Call `onSample` at iteration 0 and every this many iterations (and not at all if unset). */
  sampleInterval?: number;
  /** Receives generated images from FIXED noise, so grids are comparable across intervals. */
  onSample?: (sample: GanSample) => void | Promise<void>;
  /** Images per sample. Default 25 (the book's 5x5 grid). */
  sampleCount?: number;
  /**
   * Called after every iteration with its losses, and the history so far (the object trainGan
   * returns at the end, e.g. for a live loss chart; read it, do not change it).
   */
  onIteration?: (losses: GanIterationLosses, history: Readonly<GanHistory>) => void | Promise<void>;
  /** Base seed for batches, noise and dropout. Default: a random one. */
  seed?: number;
  /** Where progress shows (see TrainingMonitor): a view, true (default) for the default bar, false for none. */
  progress?: MonitorView | boolean;
  /**
   * 'auto' (default): compiled TensorFlow graphs for D's step, G's sampling and the combined
   * step; 'graph' or 'eager' to insist (see train/engine.ts). With the graph engine G's and D's
   * tfjs weights are brought up to date before `onSample` (which may change them) and at the
   * end, not after every iteration: inside `onIteration` they are the
   * weights of the last sync. A learning rate changed anywhere takes effect at the next step.
   */
  engine?: TrainingEngine;
  /** 'mixed_bfloat16' computes in bfloat16 where the CPU has it (see compiled). Default 'float32'. */
  precision?: CompiledOptions['precision'];
}

const STREAMS = SEED_STREAMS.gan;

function validate(images: Tensor4D, options: TrainGanOptions): void {
  if (images.rank !== 4 || images.shape[1] !== 28 || images.shape[2] !== 28 || images.shape[3] !== 1) {
    throw new Error(`trainGan: images must be a [n, 28, 28, 1] tensor scaled to [-1, 1]; got shape [${images.shape}].`);
  }
  if (!Number.isInteger(options.iterations) || options.iterations < 0) {
    throw new Error(`trainGan: options.iterations must be a whole number >= 0; got ${options.iterations}.`);
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new Error(`trainGan: options.batchSize must be a whole number >= 1; got ${options.batchSize}.`);
  }
  if (images.shape[0] < 1) throw new Error('trainGan: images holds no images.');
}

/** Runs `use` on `tensor`, then disposes it, even when `use` throws. */
async function thenDispose<T>(tensor: Tensor, use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } finally {
    tensor.dispose();
  }
}

/** Trains D and G for `options.iterations` iterations; returns the loss history. */
export async function trainGan(gan: Dcgan, images: Tensor4D, options: TrainGanOptions): Promise<GanHistory> {
  validate(images, options);
  const { generator, discriminator, combined } = gan;
  const noiseDim = generatorNoiseDim(generator);
  const batchSize = options.batchSize;
  const seed = options.seed ?? randomSeed();
  const history: GanHistory = { iteration: [], dLoss: [], dLossReal: [], dLossFake: [], gLoss: [] };

  // The book's three calls, compiled: D's train_on_batch, G's predict, the combined train_on_batch.
  const d = compiled(discriminator, { engine: options.engine, precision: options.precision });
  const g = compiled(generator, { engine: options.engine, precision: options.precision });
  const ganStep = compiled(combined, { engine: options.engine, precision: options.precision });
  const monitor = new TrainingMonitor({ iterations: options.iterations, label: 'GAN', view: options.progress ?? true });
  const sampleCount = options.sampleCount ?? 25;
  const sampleNoise =
    options.onSample && options.sampleInterval
      ? tf.randomNormal([sampleCount, noiseDim], 0, 1, 'float32', deriveSeed(seed, STREAMS.samples))
      : undefined;
  const realLabels = tf.ones([batchSize, 1]);
  const fakeLabels = tf.zeros([batchSize, 1]);
  let iteration = 0;

  try {
    for (; iteration < options.iterations; iteration++) {
      // 1. a random batch of real images (with replacement, like numpy's randint), label 1
      const real = randomBatch(images, batchSize, deriveSeed(seed, STREAMS.batch, iteration));
      const dLossReal = await thenDispose(real, () =>
        d.trainOnBatch(real, realLabels, { dropoutSeed: deriveSeed(seed, STREAMS.dropoutReal, iteration) }),
      );

      // 2. generated images from N(0, 1) noise (predict: inference mode), label 0
      const noise = tf.randomNormal([batchSize, noiseDim], 0, 1, 'float32', deriveSeed(seed, STREAMS.noise, iteration));
      const fake = g.predict(noise);
      const dLossFake = await thenDispose(fake, () =>
        d.trainOnBatch(fake, fakeLabels, { dropoutSeed: deriveSeed(seed, STREAMS.dropoutFake, iteration) }),
      );

      // 3-4. d_loss is the mean; the combined step trains G to make D answer 1
      const dLoss = 0.5 * (dLossReal + dLossFake);
      const gLoss = await thenDispose(noise, () =>
        ganStep.trainOnBatch(noise, realLabels, { dropoutSeed: deriveSeed(seed, STREAMS.dropoutCombined, iteration) }),
      );

      assertFinite(`iteration ${iteration}`, { d_loss_real: dLossReal, d_loss_fake: dLossFake, g_loss: gLoss });
      history.iteration.push(iteration);
      history.dLoss.push(dLoss);
      history.dLossReal.push(dLossReal);
      history.dLossFake.push(dLossFake);
      history.gLoss.push(gLoss);
      const goOn = await monitor.update(iteration, { d_loss: dLoss, g_loss: gLoss });
      if (options.onIteration) await options.onIteration({ iteration, dLoss, dLossReal, dLossFake, gLoss }, history);

      if (sampleNoise && options.onSample && iteration % (options.sampleInterval as number) === 0) {
        const generated = g.predict(sampleNoise);
        const pixels = await thenDispose(generated, async () => (await generated.data()) as Float32Array);
        // onSample may read or change the models: reads see the trained weights, changes are taken up.
        await options.onSample({ iteration, images: pixels });
      }
      if (!goOn) break;
    }
  } finally {
    syncWeights(combined);
    tf.dispose([realLabels, fakeLabels]);
    sampleNoise?.dispose();
  }
  await monitor.finish(
    `trainGan: training interrupted in iteration ${iteration + 1} of ${options.iterations}; ` +
      'the generator and the discriminator keep the weights of their last finished step, ' +
      `and the history holds ${history.iteration.length} iterations. ` +
      'Rerun the cell to carry on from these weights.',
  );
  return history;
}

/**
 * Frees the weights and optimizer state of all three models, and their compiled training graph.
 * (Here rather than in models/dcgan.ts, so that models never import the training engine.)
 */
export function disposeDcgan(gan: Dcgan): void {
  releaseTrainingGraph(gan.combined);
  gan.combined.optimizer?.dispose();
  gan.discriminator.optimizer?.dispose();
  // G and D are layers of the combined model: disposing it disposes them (and their weights).
  gan.combined.dispose();
}
