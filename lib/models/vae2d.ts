/**
 * The variational autoencoder of SPEC E: SPEC D's convolutional stacks, with the encoder ending
 * in two Dense heads, the mean and the log-variance of the code z. The sampling step and the
 * loss are not layers: compiledVae (train/vae.ts) adds them. Defaults give encoder 105,220
 * parameters (SPEC D's 98,946 plus a second 6,274-parameter head) and decoder 102,017.
 * 05-vae builds the same models in its cells; a test ties the two.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { kernelInitializers } from './initializers';

export interface ConvVae2dOptions {
  /** Size of the code z. Default 2. */
  zDim?: number;
  /** Encoder Conv2D filters. Default [32, 64, 64, 64]. */
  encoderFilters?: number[];
  /** Encoder strides. Default [1, 2, 2, 1]. */
  encoderStrides?: number[];
  /** Decoder Conv2DTranspose filters; the last is the image's channels. Default [64, 64, 32, 1]. */
  decoderFilters?: number[];
  /** Decoder strides. Default [1, 2, 2, 1]. */
  decoderStrides?: number[];
  /** Kernel size of every convolution. Default 3. */
  kernelSize?: number;
  /** Seed for the initial weights; default: unseeded. */
  seed?: number;
}

export interface ConvVae2d {
  /** image -> [mean, logVar], each [batch, zDim]. */
  encoder: LayersModel;
  /** z -> image in [0, 1]. */
  decoder: LayersModel;
}

export function buildConvVae2d(options: ConvVae2dOptions = {}): ConvVae2d {
  const zDim = options.zDim ?? 2;
  const encoderFilters = options.encoderFilters ?? [32, 64, 64, 64];
  const encoderStrides = options.encoderStrides ?? [1, 2, 2, 1];
  const decoderFilters = options.decoderFilters ?? [64, 64, 32, 1];
  const decoderStrides = options.decoderStrides ?? [1, 2, 2, 1];
  const kernelSize = options.kernelSize ?? 3;
  if (encoderStrides.length !== encoderFilters.length || decoderStrides.length !== decoderFilters.length) {
    throw new Error(
      'buildConvVae2d: each filters list needs one stride per layer; ' +
        `got encoder ${encoderFilters.length} filters / ${encoderStrides.length} strides, ` +
        `decoder ${decoderFilters.length} / ${decoderStrides.length}.`,
    );
  }
  const kernel = kernelInitializers(options.seed);

  const encoderInput = tf.input({ shape: [28, 28, 1], name: 'encoder_input' });
  let x = encoderInput;
  encoderFilters.forEach((filters, i) => {
    x = tf.layers
      .conv2d({
        filters,
        kernelSize,
        strides: encoderStrides[i],
        padding: 'same',
        name: `encoder_conv_${i}`,
        kernelInitializer: kernel(),
      })
      .apply(x) as SymbolicTensor;
    x = tf.layers.leakyReLU().apply(x) as SymbolicTensor;
  });
  const shapeBeforeFlatten = x.shape.slice(1) as number[];
  x = tf.layers.flatten().apply(x) as SymbolicTensor;
  const mean = tf.layers.dense({ units: zDim, name: 'mu', kernelInitializer: kernel() }).apply(x) as SymbolicTensor;
  const logVar = tf.layers
    .dense({ units: zDim, name: 'log_var', kernelInitializer: kernel() })
    .apply(x) as SymbolicTensor;
  const encoder = tf.model({ name: 'vae_encoder', inputs: encoderInput, outputs: [mean, logVar] });

  const decoderInput = tf.input({ shape: [zDim], name: 'decoder_input' });
  let y = tf.layers
    .dense({ units: shapeBeforeFlatten.reduce((a, b) => a * b, 1), kernelInitializer: kernel() })
    .apply(decoderInput) as SymbolicTensor;
  y = tf.layers.reshape({ targetShape: shapeBeforeFlatten }).apply(y) as SymbolicTensor;
  decoderFilters.forEach((filters, i) => {
    y = tf.layers
      .conv2dTranspose({
        filters,
        kernelSize,
        strides: decoderStrides[i],
        padding: 'same',
        name: `decoder_conv_t_${i}`,
        kernelInitializer: kernel(),
      })
      .apply(y) as SymbolicTensor;
    const last = i === decoderFilters.length - 1;
    y = (last ? tf.layers.activation({ activation: 'sigmoid' }) : tf.layers.leakyReLU()).apply(y) as SymbolicTensor;
  });
  const decoder = tf.model({ name: 'vae_decoder', inputs: decoderInput, outputs: y });
  return { encoder, decoder };
}
