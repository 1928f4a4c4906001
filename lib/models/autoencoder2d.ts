/**
 * The convolutional autoencoder of SPEC D ("Generative Deep Learning" style),
 * whose 2-D latent space (잠재 공간) the notebook plots. Defaults give encoder 98,946,
 * decoder 102,017 and the whole model 200,963 parameters; Adam lr 0.00005 and MSE.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { kernelInitializers } from './initializers';
import { compileOwningOptimizer } from './ownedOptimizer';

export interface ConvAutoencoder2dOptions {
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

/** The blog's stacks of 3x3 convolutions: filters and strides (the decoder's last filter is the image's channel). */
const ENCODER = { filters: [32, 64, 64, 64], strides: [1, 2, 2, 1] };
const DECODER = { filters: [64, 64, 32, 1], strides: [1, 2, 2, 1] };

export function buildConvAutoencoder2d(options: ConvAutoencoder2dOptions = {}): ConvAutoencoder2d {
  const inputShape = [28, 28, 1];
  const zDim = options.zDim ?? 2;
  const kernel = kernelInitializers(options.seed);
  const on = (layer: { apply(t: SymbolicTensor): unknown }, t: SymbolicTensor) => layer.apply(t) as SymbolicTensor;
  /** After each hidden convolution: LeakyReLU, then BatchNormalization and Dropout if asked (the blog's order). */
  const activate = (t: SymbolicTensor) => {
    t = on(tf.layers.leakyReLU(), t);
    if (options.batchNorm) t = on(tf.layers.batchNormalization(), t);
    return options.dropout ? on(tf.layers.dropout({ rate: 0.25 }), t) : t;
  };
  /** One 3x3 'same' convolution of the blog's stacks (transposed in the decoder). */
  const conv = (layer: typeof tf.layers.conv2d, filters: number, strides: number, name: string) =>
    layer({ filters, kernelSize: 3, strides, padding: 'same', name, kernelInitializer: kernel() });

  const encoderInput = tf.input({ shape: inputShape, name: 'encoder_input' });
  let x = encoderInput;
  ENCODER.filters.forEach((filters, i) => {
    x = activate(on(conv(tf.layers.conv2d, filters, ENCODER.strides[i], `encoder_conv_${i}`), x));
  });
  const shapeBeforeFlatten = x.shape.slice(1) as number[];
  x = on(tf.layers.flatten(), x);
  const code = on(tf.layers.dense({ units: zDim, name: 'encoder_output', kernelInitializer: kernel() }), x);
  const encoder = tf.model({ name: 'encoder', inputs: encoderInput, outputs: code });

  const decoderInput = tf.input({ shape: [zDim], name: 'decoder_input' });
  const units = shapeBeforeFlatten.reduce((a, b) => a * b, 1);
  let y = on(tf.layers.dense({ units, kernelInitializer: kernel() }), decoderInput);
  y = on(tf.layers.reshape({ targetShape: shapeBeforeFlatten }), y);
  DECODER.filters.forEach((filters, i) => {
    y = on(conv(tf.layers.conv2dTranspose, filters, DECODER.strides[i], `decoder_conv_t_${i}`), y);
    y = i === DECODER.filters.length - 1 ? on(tf.layers.activation({ activation: 'sigmoid' }), y) : activate(y);
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
