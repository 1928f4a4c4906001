/**
 * The DCGAN of SPEC A: generator (생성자), discriminator (판별자) and the combined model
 * D(G(z)), with the book's compile settings and Keras's freeze semantics.
 *
 * The freeze: Keras fixes which weights a model trains when the model is *compiled*. The book
 * compiles the discriminator, sets `discriminator.trainable = False`, then compiles the combined
 * model: D keeps learning in its own `train_on_batch` but never inside the combined step. tfjs
 * also collects the trainable weights at compile time, but additionally skips any weight whose
 * `trainable` flag is off when a step runs, so leaving D frozen (the Keras order) would make D's
 * own training throw ("none of the variables is trainable"). `compileGan` therefore compiles D,
 * sets D.trainable = false, compiles the combined model (which collects only G's trainable
 * weights) and sets D.trainable = true again. No toggling is needed around each step; the unit
 * tests check both directions with weight snapshots.
 *
 * BatchNormalization: only G has it. Its moving mean/variance are non-trainable weights that
 * tfjs (like Keras) updates whenever G runs in training mode, i.e. in the combined step. In
 * D's step on fake images G runs through `predict` (inference mode), so they do not move
 * there. D has no BatchNormalization; its dropout is active in both D's and the combined step,
 * as in Keras (frozen means "not updated", not "inference mode").
 */
import type { LayersModel, Sequential } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { kernelInitializers } from './initializers';
import { compileOwningOptimizer } from './ownedOptimizer';

export interface DcganOptions {
  /** Length of the noise vector z. Default 100 (the book). */
  noiseDim?: number;
  /** Seed for the initial weights; default: unseeded (different every build). */
  seed?: number;
}

/**
 * The three models of the DCGAN, compiled and ready for `trainGan`. The noise length is not a
 * field: it is the generator's input size, `generatorNoiseDim(gan.generator)`.
 */
export interface Dcgan {
  generator: Sequential;
  discriminator: Sequential;
  /** D(G(z)), trains only G (see the freeze note at the top of this file). */
  combined: LayersModel;
}

/** The length of the noise vectors `generator` takes: its input shape is [batch, noiseDim]. */
export function generatorNoiseDim(generator: LayersModel): number {
  const shape = generator.inputs[0].shape;
  const noiseDim = shape[1];
  if (shape.length !== 2 || typeof noiseDim !== 'number') {
    const shown = shape.map((size) => size ?? 'batch').join(', ');
    throw new Error(
      `generatorNoiseDim: "${generator.name}" takes inputs of shape [${shown}]; a generator takes noise vectors, ` +
        'shape [batch, noiseDim] (its first layer built with inputShape: [noiseDim]).',
    );
  }
  return noiseDim;
}

/** The generator of SPEC A1: 100-dim noise -> 28x28x1 image in [-1, 1]. 865,281 parameters. */
export function buildGenerator(options: DcganOptions = {}): Sequential {
  const noiseDim = options.noiseDim ?? 100;
  const kernel = kernelInitializers(options.seed);
  return tf.sequential({
    name: 'generator',
    layers: [
      tf.layers.dense({ inputShape: [noiseDim], units: 128 * 7 * 7, kernelInitializer: kernel() }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.batchNormalization(),
      tf.layers.reshape({ targetShape: [7, 7, 128] }),
      tf.layers.upSampling2d({ size: [2, 2] }),
      tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', kernelInitializer: kernel() }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.upSampling2d({ size: [2, 2] }),
      tf.layers.conv2d({ filters: 1, kernelSize: 5, padding: 'same', activation: 'tanh', kernelInitializer: kernel() }),
    ],
  });
}

/** The discriminator of SPEC A2: 28x28x1 image -> probability it is real. 212,865 parameters. */
export function buildDiscriminator(options: DcganOptions = {}): Sequential {
  const kernel = kernelInitializers(options.seed === undefined ? undefined : options.seed + 1);
  return tf.sequential({
    name: 'discriminator',
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 64,
        kernelSize: 5,
        strides: 2,
        padding: 'same',
        kernelInitializer: kernel(),
      }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.conv2d({ filters: 128, kernelSize: 5, strides: 2, padding: 'same', kernelInitializer: kernel() }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: kernel() }),
    ],
  });
}

/** The combined model `gan = D(G(z))` (uncompiled; `compileGan` compiles it). */
export function buildGan(generator: LayersModel, discriminator: LayersModel): LayersModel {
  const inputShape = generator.inputs[0].shape.slice(1) as number[];
  const noise = tf.input({ shape: inputShape, name: 'noise' });
  const fake = generator.apply(noise) as ReturnType<typeof tf.input>;
  const verdict = discriminator.apply(fake) as ReturnType<typeof tf.input>;
  return tf.model({ name: 'gan', inputs: noise, outputs: verdict });
}

/** Keras's `optimizer='adam'`: learning rate 0.001, betas 0.9 and 0.999, epsilon 1e-7. */
function adam() {
  return tf.train.adam(0.001, 0.9, 0.999, 1e-7);
}

/**
 * Compiles D and the combined model with binary cross-entropy and Adam (each its own
 * optimizer, as in the book), in the freeze order explained at the top of this file.
 */
export function compileGan(generator: Sequential, discriminator: Sequential): Dcgan {
  compileOwningOptimizer(discriminator, { loss: 'binaryCrossentropy', optimizer: adam() });
  const combined = buildGan(generator, discriminator);
  discriminator.trainable = false;
  try {
    compileOwningOptimizer(combined, { loss: 'binaryCrossentropy', optimizer: adam() });
  } finally {
    discriminator.trainable = true;
  }
  return { generator, discriminator, combined };
}

/** Builds and compiles the whole DCGAN: `createDcgan({ seed: 1 })`. */
export function createDcgan(options: DcganOptions = {}): Dcgan {
  const generator = buildGenerator(options);
  const discriminator = buildDiscriminator({ seed: options.seed });
  return compileGan(generator, discriminator);
}
