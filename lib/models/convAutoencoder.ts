/**
 * The convolutional autoencoder (오토인코더) of SPEC B: 28x28x1 in [0, 1] -> 4x4x8 code ->
 * 28x28x1. 4,385 parameters. Two poolings but three upsamplings: the one unpadded
 * convolution (16x16 -> 14x14) is what makes the output 28x28 again.
 */
import type { Sequential } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { kernelInitializers } from './initializers';
import { compileOwningOptimizer } from './ownedOptimizer';

export interface ConvAutoencoderOptions {
  /** Seed for the initial weights; default: unseeded. */
  seed?: number;
}

export function buildConvAutoencoder(options: ConvAutoencoderOptions = {}): Sequential {
  const kernel = kernelInitializers(options.seed);
  // 3x3 convolutions, 'same' padding and ReLU unless `extra` says otherwise.
  const conv = (filters: number, extra: Partial<Parameters<typeof tf.layers.conv2d>[0]> = {}) =>
    tf.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: kernel(),
      ...extra,
    });
  const model = tf.sequential({ name: 'conv_autoencoder' });
  // Encoder: 28x28 -> 14x14 -> 7x7 -> 4x4 (7 is odd; 'same' padding rounds up).
  model.add(conv(16, { inputShape: [28, 28, 1] }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
  model.add(conv(8));
  model.add(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
  model.add(conv(8, { strides: 2 }));
  // Decoder: 4x4 -> 8x8 -> 16x16 -> 14x14 (valid) -> 28x28.
  model.add(conv(8));
  model.add(tf.layers.upSampling2d({ size: [2, 2] }));
  model.add(conv(8));
  model.add(tf.layers.upSampling2d({ size: [2, 2] }));
  model.add(conv(16, { padding: 'valid' }));
  model.add(tf.layers.upSampling2d({ size: [2, 2] }));
  model.add(conv(1, { activation: 'sigmoid' }));
  compileOwningOptimizer(model, { optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: 'binaryCrossentropy' });
  return model;
}
