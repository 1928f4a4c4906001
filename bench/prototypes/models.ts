/**
 * What the prototypes train: 05's VAE (its buildVae and vaeLoss cells, copied as written) and MNIST
 * batches from the embedded test set, in [-1, 1] for the DCGAN and [0, 1] for the VAE.
 */
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../../lib/tf';
import { loadEmbeddedTestSet } from '../../lib/data/mnist';
import { kernelInitializers } from '../../lib/models/initializers';

/** 05's buildVae cell. */
export function buildVae(zDim: number, seed: number) {
  const kernel = kernelInitializers(seed); // each call: the next layer's seeded initializer
  const strides = [1, 2, 2, 1];

  const encoderInput = tf.input({ shape: [28, 28, 1], name: 'encoder_input' });
  let x = encoderInput;
  [32, 64, 64, 64].forEach((filters, i) => {
    x = tf.layers
      .conv2d({ filters, kernelSize: 3, strides: strides[i], padding: 'same', kernelInitializer: kernel() })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU().apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor; // 3,136 numbers
  const mu = tf.layers.dense({ units: zDim, kernelInitializer: kernel() }).apply(x) as tf.SymbolicTensor;
  const logVar = tf.layers.dense({ units: zDim, kernelInitializer: kernel() }).apply(x) as tf.SymbolicTensor;
  const encoder = tf.model({ inputs: encoderInput, outputs: [mu, logVar] });

  const decoderInput = tf.input({ shape: [zDim] });
  let y = tf.layers.dense({ units: 7 * 7 * 64, kernelInitializer: kernel() }).apply(decoderInput) as tf.SymbolicTensor;
  y = tf.layers.reshape({ targetShape: [7, 7, 64] }).apply(y) as tf.SymbolicTensor;
  [64, 64, 32, 1].forEach((filters, i) => {
    y = tf.layers
      .conv2dTranspose({ filters, kernelSize: 3, strides: strides[i], padding: 'same', kernelInitializer: kernel() })
      .apply(y) as tf.SymbolicTensor;
    const last = i === 3;
    y = (last ? tf.layers.activation({ activation: 'sigmoid' }) : tf.layers.leakyReLU()).apply(y) as tf.SymbolicTensor;
  });
  const decoder = tf.model({ inputs: decoderInput, outputs: y });
  return { encoder, decoder };
}

/** 05's vaeLoss cell, for the given models and weight. */
export function vaeLoss(encoder: tf.LayersModel, decoder: tf.LayersModel, reconstructionWeight: number) {
  return (x: Tensor, eps: Tensor) =>
    tf.tidy(() => {
      const [mean, logVar] = encoder.apply(x) as Tensor[];
      const z = mean.add(tf.exp(logVar.div(2)).mul(eps)); // the reparameterisation trick
      const rebuilt = decoder.apply(z) as Tensor;
      const reconstruction = tf.mean(tf.squaredDifference(x, rebuilt), [1, 2, 3]).mul(reconstructionWeight);
      const kl = tf.sum(tf.scalar(1).add(logVar).sub(tf.square(mean)).sub(tf.exp(logVar)), 1).mul(-0.5);
      return { loss: tf.mean(reconstruction.add(kl)), reconstruction: tf.mean(reconstruction), kl: tf.mean(kl) };
    });
}

/** The embedded test set's images as [count, 28, 28, 1] float32, in [0, 1] or [-1, 1]. */
export function mnistImages(range: 'unit' | 'tanh'): Tensor {
  const { images, count } = loadEmbeddedTestSet();
  return tf.tidy(() => {
    const pixels = tf.tensor4d(images, [count, 28, 28, 1], 'int32').toFloat();
    return range === 'unit' ? pixels.div(255) : pixels.sub(127.5).div(127.5);
  });
}

/** Batch `i` of `batch` images (a fixed pseudo-random pick, the same for every design). */
export function batchOf(images: Tensor, batch: number, i: number): Tensor {
  const count = images.shape[0];
  const indices = Array.from({ length: batch }, (_, k) => (i * 7919 + k * 104729) % count);
  return tf.tidy(() => tf.gather(images, tf.tensor1d(indices, 'int32')));
}
