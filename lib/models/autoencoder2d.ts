/**
 * The configurable convolutional autoencoder of SPEC D ("Generative Deep Learning" style),
 * whose 2-D latent space (잠재 공간) the notebook plots. Defaults give encoder 98,946,
 * decoder 102,017 and the whole model 200,963 parameters; Adam lr 0.00005 and MSE.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { kernelInitializers } from './initializers';
import { compileOwningOptimizer } from './ownedOptimizer';

export interface ConvAutoencoder2dOptions {
  /** Input image shape. Default [28, 28, 1]. */
  inputShape?: [number, number, number];
  /** Encoder Conv2D filters. Default [32, 64, 64, 64]. */
  encoderFilters?: number[];
  /** Encoder kernel sizes (one per layer). Default [3, 3, 3, 3]. */
  encoderKernels?: number[];
  /** Encoder strides. Default [1, 2, 2, 1]. */
  encoderStrides?: number[];
  /** Decoder Conv2DTranspose filters; the last is the image's channels. Default [64, 64, 32, 1]. */
  decoderFilters?: number[];
  /** Decoder kernel sizes. Default [3, 3, 3, 3]. */
  decoderKernels?: number[];
  /** Decoder strides. Default [1, 2, 2, 1]. */
  decoderStrides?: number[];
  /** Size of the code z. Default 2. */
  zDim?: number;
  /** BatchNormalization after each hidden convolution's LeakyReLU (the blog's order). Default false. */
  batchNorm?: boolean;
  /** Dropout(0.25) after each hidden convolution's activation. Default false. */
  dropout?: boolean;
  /** Adam learning rate. Default 0.00005 (the blog). */
  learningRate?: number;
  /** Compile the whole model with Adam and mean squared error. Default true. */
  compile?: boolean;
  /** Seed for the initial weights; default: unseeded. */
  seed?: number;
}

export interface ConvAutoencoder2d {
  encoder: LayersModel;
  decoder: LayersModel;
  /** encoder then decoder, sharing their layers. */
  model: LayersModel;
}

export function buildConvAutoencoder2d(options: ConvAutoencoder2dOptions = {}): ConvAutoencoder2d {
  const inputShape = options.inputShape ?? [28, 28, 1];
  const encFilters = options.encoderFilters ?? [32, 64, 64, 64];
  const encKernels = options.encoderKernels ?? encFilters.map(() => 3);
  const encStrides = options.encoderStrides ?? [1, 2, 2, 1];
  const decFilters = options.decoderFilters ?? [64, 64, 32, 1];
  const decKernels = options.decoderKernels ?? decFilters.map(() => 3);
  const decStrides = options.decoderStrides ?? [1, 2, 2, 1];
  const zDim = options.zDim ?? 2;
  if (encKernels.length !== encFilters.length || encStrides.length !== encFilters.length) {
    throw new Error(
      'buildConvAutoencoder2d: encoderFilters, encoderKernels and encoderStrides must have the same length; ' +
        `got ${encFilters.length}, ${encKernels.length}, ${encStrides.length}.`,
    );
  }
  if (decKernels.length !== decFilters.length || decStrides.length !== decFilters.length) {
    throw new Error(
      'buildConvAutoencoder2d: decoderFilters, decoderKernels and decoderStrides must have the same length; ' +
        `got ${decFilters.length}, ${decKernels.length}, ${decStrides.length}.`,
    );
  }
  const kernel = kernelInitializers(options.seed);

  const encoderInput = tf.input({ shape: inputShape, name: 'encoder_input' });
  let x = encoderInput;
  encFilters.forEach((filters, i) => {
    x = tf.layers
      .conv2d({
        filters,
        kernelSize: encKernels[i],
        strides: encStrides[i],
        padding: 'same',
        name: `encoder_conv_${i}`,
        kernelInitializer: kernel(),
      })
      .apply(x) as SymbolicTensor;
    x = tf.layers.leakyReLU().apply(x) as SymbolicTensor;
    if (options.batchNorm) x = tf.layers.batchNormalization().apply(x) as SymbolicTensor;
    if (options.dropout) x = tf.layers.dropout({ rate: 0.25 }).apply(x) as SymbolicTensor;
  });
  const shapeBeforeFlatten = x.shape.slice(1) as number[];
  x = tf.layers.flatten().apply(x) as SymbolicTensor;
  const code = tf.layers
    .dense({ units: zDim, name: 'encoder_output', kernelInitializer: kernel() })
    .apply(x) as SymbolicTensor;
  const encoder = tf.model({ name: 'encoder', inputs: encoderInput, outputs: code });

  const decoderInput = tf.input({ shape: [zDim], name: 'decoder_input' });
  let y = tf.layers
    .dense({ units: shapeBeforeFlatten.reduce((a, b) => a * b, 1), kernelInitializer: kernel() })
    .apply(decoderInput) as SymbolicTensor;
  y = tf.layers.reshape({ targetShape: shapeBeforeFlatten }).apply(y) as SymbolicTensor;
  decFilters.forEach((filters, i) => {
    const last = i === decFilters.length - 1;
    y = tf.layers
      .conv2dTranspose({
        filters,
        kernelSize: decKernels[i],
        strides: decStrides[i],
        padding: 'same',
        name: `decoder_conv_t_${i}`,
        kernelInitializer: kernel(),
      })
      .apply(y) as SymbolicTensor;
    if (last) {
      y = tf.layers.activation({ activation: 'sigmoid' }).apply(y) as SymbolicTensor;
    } else {
      y = tf.layers.leakyReLU().apply(y) as SymbolicTensor;
      if (options.batchNorm) y = tf.layers.batchNormalization().apply(y) as SymbolicTensor;
      if (options.dropout) y = tf.layers.dropout({ rate: 0.25 }).apply(y) as SymbolicTensor;
    }
  });
  const decoder = tf.model({ name: 'decoder', inputs: decoderInput, outputs: y });

  const modelInput = tf.input({ shape: inputShape, name: 'model_input' });
  const reconstruction = decoder.apply(encoder.apply(modelInput)) as SymbolicTensor;
  const model = tf.model({ name: 'autoencoder', inputs: modelInput, outputs: reconstruction });
  if (options.compile ?? true) {
    compileOwningOptimizer(model, {
      optimizer: tf.train.adam(options.learningRate ?? 0.00005, 0.9, 0.999, 1e-7),
      loss: 'meanSquaredError',
    });
  }
  return { encoder, decoder, model };
}
