/**
 * The DCGAN's and 05's VAE's training steps built with design (a): losses written in graph ops, models
 * lowered layer by layer, gradients from the per-op table, Adam as ResourceApplyAdam. One program
 * (one session) per model family, as the engine shares one session between steps that share weights.
 */
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs-node';
import type { Dcgan } from '../../../lib/models/dcgan';
import type { Sym } from './autodiff';
import './gradients';
import { lowerModel } from './layers';
import { Adam, Program, type AdamSettings, type CompiledStep, type StepBuilder, type WeightLike } from './program';

/** tfjs-layers' binaryCrossentropy, op for op, averaged over the batch as trainOnBatch does. */
export function binaryCrossentropy(step: StepBuilder, labels: Sym, predictions: Sym): Sym {
  const { g } = step;
  const epsilon = 1e-7; // tfjs's backend epsilon for float32
  const clipped = g.clipByValue(predictions, epsilon, 1 - epsilon);
  const logits = g.log(g.div(clipped, g.sub(g.scalar(1), clipped)));
  // sigmoidCrossEntropyWithLogits: max(x, 0) - x * z + log(1 + exp(-abs(x)))
  const relu = g.unary('Relu', logits);
  const perElement = g.add(g.sub(relu, g.mul(logits, labels)), g.unary('Log1p', g.exp(g.neg(g.unary('Abs', logits)))));
  return g.mean(g.mean(perElement, [-1]));
}

export function adamSettings(optimizer: Optimizer): AdamSettings {
  const config = optimizer.getConfig() as Record<string, number>;
  return { learningRate: config.learningRate, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon };
}

/** A compiled model step: feeds, one run, the results. */
export class Step {
  constructor(
    private readonly program: Program,
    private readonly compiledStep: CompiledStep,
  ) {}
  get ops(): string[] {
    return this.compiledStep.ops;
  }
  run(inputs: Tensor[], seed = 0): Tensor[] {
    return this.program.run(this.compiledStep, inputs, seed);
  }
}

/** A train step of `model` on binary cross-entropy, as its compiled trainOnBatch. */
function bceTrainStep(program: Program, name: string, model: LayersModel, optimizer: Adam, options: Options): Step {
  const { batch, withGradients = false } = options;
  const step = program.step(name);
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const x = step.input([batch, ...inputShape]);
  const y = step.input([batch, 1]);
  const [prediction] = lowerModel({ step, training: true }, model, [x]);
  const loss = binaryCrossentropy(step, y, prediction);
  // What tfjs's train function trains: the weights collected when the model was compiled.
  const collected = (model as unknown as { collectedTrainableWeights?: WeightLike[] }).collectedTrainableWeights;
  const grads = optimizer.minimize(step, loss, collected ?? model.trainableWeights);
  return new Step(program, step.finish([loss, ...(withGradients ? grads : [])]));
}

export interface DcganPrototype {
  program: Program;
  trainD: Step;
  predictG: Step;
  trainCombined: Step;
}

/** The batch size the steps are built for; `withGradients`: each train step returns its gradients after its loss. */
export interface Options {
  batch: number;
  withGradients?: boolean;
}

export function dcganPrototype(gan: Dcgan, options: Options): DcganPrototype {
  const { batch } = options;
  const program = new Program();
  const dOptimizer = new Adam(program, adamSettings(gan.discriminator.optimizer));
  const combinedOptimizer = new Adam(program, adamSettings(gan.combined.optimizer));
  const trainD = bceTrainStep(program, 'd', gan.discriminator, dOptimizer, options);
  // The combined model trains only G (D was frozen when it was compiled): its collected weights are G's.
  const trainCombined = bceTrainStep(program, 'combined', gan.combined, combinedOptimizer, options);
  const predict = program.step('g');
  const noise = predict.input([batch, gan.generator.inputs[0].shape[1] as number]);
  const [images] = lowerModel({ step: predict, training: false }, gan.generator, [noise]);
  const predictG = new Step(program, predict.finish([images]));
  program.start();
  return { program, trainD, predictG, trainCombined };
}

/** 05's vaeLoss, written in graph ops: the same formula, op for op. */
export function vaeLossOps(
  step: StepBuilder,
  encoder: LayersModel,
  decoder: LayersModel,
  x: Sym,
  eps: Sym,
  reconstructionWeight: number,
): { loss: Sym; reconstruction: Sym; kl: Sym } {
  const { g } = step;
  const ctx = { step, training: true };
  const [mean, logVar] = lowerModel(ctx, encoder, [x]);
  const z = g.add(mean, g.mul(g.exp(g.div(logVar, g.scalar(2))), eps));
  const [rebuilt] = lowerModel(ctx, decoder, [z]);
  const reconstruction = g.mul(
    g.mean(g.binary('SquaredDifference', x, rebuilt), [1, 2, 3]),
    g.scalar(reconstructionWeight),
  );
  const kl = g.mul(g.sum(g.sub(g.sub(g.add(g.scalar(1), logVar), g.square(mean)), g.exp(logVar)), [1]), g.scalar(-0.5));
  return { loss: g.mean(g.add(reconstruction, kl)), reconstruction: g.mean(reconstruction), kl: g.mean(kl) };
}

export function vaePrototype(
  encoder: LayersModel,
  decoder: LayersModel,
  settings: AdamSettings,
  reconstructionWeight: number,
  options: Options,
): { program: Program; train: Step } {
  const { batch, withGradients = false } = options;
  const program = new Program();
  const optimizer = new Adam(program, settings);
  const step = program.step('vae');
  const x = step.input([batch, 28, 28, 1]);
  const zDim = decoder.inputs[0].shape[1] as number;
  const eps = step.input([batch, zDim]);
  const { loss, reconstruction, kl } = vaeLossOps(step, encoder, decoder, x, eps, reconstructionWeight);
  const grads = optimizer.minimize(step, loss, [...encoder.trainableWeights, ...decoder.trainableWeights]);
  const train = new Step(program, step.finish([loss, reconstruction, kl, ...(withGradients ? grads : [])]));
  program.start();
  return { program, train };
}
