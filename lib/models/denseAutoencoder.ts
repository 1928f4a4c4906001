/**
 * The fully connected autoencoder of SPEC C as a class: 784 -> zDim (relu) -> 784 (sigmoid).
 * 57,268 parameters for zDim 36. `encoder()` and `decoder()` are models over the *same* layer
 * objects as `model`, so training `model` trains them too (shared weights, not copies).
 *
 * Optimizer: Adadelta with learning rate 1.0 and binary accuracy as a metric. The companion text ran on the
 * standalone Keras (up to 2.3), where `optimizer='adadelta'` meant lr 1.0 (rho 0.95); tf.keras
 * (since TensorFlow 1.14; Keras 2.4 on is tf.keras), Keras 3 and TensorFlow.js default to
 * 0.001, with which 10 epochs barely move the loss away from ~0.69. lr 1.0 is what gives the
 * text's recorded val_loss of about 0.16 after 10 epochs, so we keep the text's behaviour.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { kernelInitializers } from './initializers';
import { compileOwningOptimizer } from './ownedOptimizer';

export interface DenseAutoencoderOptions {
  /** Size of the code z (the hidden layer). Default 36 (the text). */
  zDim?: number;
  /** Seed for the initial weights; default: unseeded. */
  seed?: number;
}

type DenseLayer = ReturnType<typeof tf.layers.dense>;

export class DenseAutoencoder {
  readonly zDim: number;
  /** The whole autoencoder, compiled: 784 -> 784. */
  readonly model: LayersModel;
  readonly hiddenLayer: DenseLayer;
  readonly outputLayer: DenseLayer;
  private readonly input: SymbolicTensor;
  private readonly code: SymbolicTensor;
  private encoderModel?: LayersModel;
  private decoderModel?: LayersModel;

  constructor(options: DenseAutoencoderOptions = {}) {
    this.zDim = options.zDim ?? 36;
    const kernel = kernelInitializers(options.seed);
    this.input = tf.input({ shape: [784], name: 'image' });
    this.hiddenLayer = tf.layers.dense({
      units: this.zDim,
      activation: 'relu',
      name: 'code',
      kernelInitializer: kernel(),
    });
    this.outputLayer = tf.layers.dense({
      units: 784,
      activation: 'sigmoid',
      name: 'reconstruction',
      kernelInitializer: kernel(),
    });
    this.code = this.hiddenLayer.apply(this.input) as SymbolicTensor;
    const output = this.outputLayer.apply(this.code) as SymbolicTensor;
    this.model = tf.model({ name: 'dense_autoencoder', inputs: this.input, outputs: output });
    compileOwningOptimizer(this.model, {
      optimizer: tf.train.adadelta(1.0, 0.95, 1e-7),
      loss: 'binaryCrossentropy',
      metrics: ['accuracy'],
    });
  }

  /** Input image (784) -> code (zDim). Built once, then the same model is returned. */
  encoder(): LayersModel {
    this.encoderModel ??= tf.model({ name: 'encoder', inputs: this.input, outputs: this.code });
    return this.encoderModel;
  }

  /** Code (zDim) -> image (784), through the same output layer object as `model`. */
  decoder(): LayersModel {
    if (!this.decoderModel) {
      const codeInput = tf.input({ shape: [this.zDim], name: 'code_input' });
      const output = this.outputLayer.apply(codeInput) as SymbolicTensor;
      this.decoderModel = tf.model({ name: 'decoder', inputs: codeInput, outputs: output });
    }
    return this.decoderModel;
  }

  dispose(): void {
    this.model.optimizer?.dispose();
    this.model.dispose();
  }
}
