/**
 * The two ways the training loops run a step:
 *
 * - 'graph': the step is compiled once into a TensorFlow graph (lib/graph) and run in a native
 *   session, like Keras's traced train function. 2-3x faster per step on this project's models.
 *   The weights live in the session during training and are copied back to the tfjs models
 *   at each `sync()` (the loops sync before validation, samples, checkpoints and at the end).
 * - 'eager': tfjs's own `trainOnBatch`, one native call per op. Works for any compiled model.
 *
 * 'auto' (the default) uses the graph engine when the models are built from layers it supports
 * (Dense, Conv2D, Conv2DTranspose, pooling, upsampling, reshapes, ReLU, LeakyReLU,
 * BatchNormalization, Dropout; Adam or Adadelta; binary cross-entropy or MSE, with accuracy as
 * the only metric) and the eager one otherwise.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { chainLayers, graphLossOf, graphMetricsOf, GraphProgram, optimizerVariables, UnsupportedModelError, type InferenceHandle, type TrainStepHandle } from '../graph/program';
import type { Dcgan } from '../models/dcgan';
import { setDropoutSeeds } from './dropout';

export type TrainingEngine = 'auto' | 'graph' | 'eager';

export interface EngineChoice {
  engine: 'graph' | 'eager';
  /** Why the eager engine was chosen under 'auto' (empty for the graph engine). */
  reason: string;
}

/**
 * The one place that decides the engine. 'eager' (or a backend other than the native one under
 * 'auto') takes `eager`. Otherwise `graph` runs: a model it cannot compile (UnsupportedModelError)
 * takes `eager` with the reason under 'auto' and throws under 'graph'; any other failure (say,
 * TensorFlow refusing the graph: an older C library, no writable temporary folder) also falls
 * back under 'auto', with a warning on stderr, since training can still go on.
 */
function selectEngine<T>(requested: TrainingEngine | undefined, caller: string, graph: () => T, eager: (reason: string) => T): T {
  const engine = requested ?? 'auto';
  if (engine !== 'auto' && engine !== 'graph' && engine !== 'eager') {
    throw new Error(`${caller}: options.engine must be 'auto', 'graph' or 'eager'; got ${JSON.stringify(requested)}.`);
  }
  if (engine === 'eager') return eager('requested');
  if (tf.getBackend() !== 'tensorflow') {
    if (engine === 'graph') throw new Error(`${caller}: the graph engine needs the native backend; the active backend is "${tf.getBackend()}".`);
    return eager(`backend "${tf.getBackend()}"`);
  }
  try {
    return graph();
  } catch (error) {
    if (engine === 'graph') throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (!(error instanceof UnsupportedModelError)) {
      console.warn(`${caller}: the graph engine could not start (${message.split('\n')[0]}); training with tfjs's eager trainOnBatch instead (2-3x slower).`);
    }
    return eager(message);
  }
}

function seedTensor(seed: number): Tensor {
  // StatelessRandomUniform takes two int32 words; the second is a fixed salt.
  return tf.tensor1d([seed | 0, 0x5eed], 'int32');
}

/** Runs a graph train step and reads its loss and metrics. */
async function trainAndRead(program: GraphProgram, step: TrainStepHandle, x: Tensor, target: Tensor, dropoutSeed: number): Promise<number[]> {
  const seed = step.seed ? seedTensor(dropoutSeed) : undefined;
  let results: Tensor[];
  try {
    results = program.runTrainStep(step, x, target, seed);
  } finally {
    seed?.dispose();
  }
  try {
    return await Promise.all(results.map(async (value) => (await value.data())[0]));
  } finally {
    tf.dispose(results);
  }
}

function inputShapeOf(model: LayersModel): number[] {
  return model.inputs[0].shape.slice(1) as number[];
}

/**
 * Compiled programs, one per model, reused while the model keeps the same optimizer and
 * variable list (a new `compile` changes both): like Keras's cached train function, a second
 * `trainAutoencoder` / `trainGan` call on the same model (rerunning a notebook cell) skips
 * building and optimising the graph again. Each call starts by pushing the model's current
 * weights, so changes made between calls (setWeights, a loaded checkpoint) are picked up.
 * The native session (a copy of the weights and optimizer state, outside tfjs's memory
 * accounting) is freed by `releaseTrainingGraph(model)` (disposeDcgan calls it), or else when the
 * model is garbage-collected; `model.dispose()` alone does not free it.
 */
const programCache = new WeakMap<object, { key: unknown[]; value: { program: GraphProgram } }>();
const sessionReaper = new FinalizationRegistry<GraphProgram>((program) => program.dispose());

/** Frees the compiled training graph cached for `model` (a GAN's: its combined model), if any. */
export function releaseTrainingGraph(model: LayersModel): void {
  const cached = programCache.get(model);
  if (!cached) return;
  programCache.delete(model);
  sessionReaper.unregister(cached.value.program);
  cached.value.program.dispose();
}

function cachedProgram<T extends { program: GraphProgram }>(owner: object, key: unknown[], build: () => T): T {
  const cached = programCache.get(owner);
  if (cached && cached.key.length === key.length && cached.key.every((part, i) => part === key[i])) return cached.value as T;
  if (cached) {
    sessionReaper.unregister(cached.value.program);
    cached.value.program.dispose();
  }
  const value = build();
  value.program.start();
  programCache.set(owner, { key, value });
  sessionReaper.register(owner, value.program, value.program);
  return value;
}

/**
 * The optimizer's settings the graph holds as constants (beta1, beta2, rho, epsilon); the
 * learning rate is fed at every step instead, so it may change at any time.
 */
function optimizerSettings(model: LayersModel): string {
  const { learningRate: _fedEachStep, ...constants } = model.optimizer.getConfig();
  return JSON.stringify(constants);
}

/** What a cached program depends on, per trained model (a new compile changes the first two). */
function trainingKey(...models: LayersModel[]): unknown[] {
  return models.flatMap((model) => [model.optimizer, optimizerVariables(model), optimizerSettings(model)]);
}

/** One training step of a compiled model, x -> target. */
export interface ModelStepper {
  readonly engine: 'graph' | 'eager';
  /** Trains on one batch; returns the loss and any metrics, as trainOnBatch does. */
  train(x: Tensor, target: Tensor, dropoutSeed: number): Promise<number[]>;
  /** Brings the tfjs model's weights and optimizer state up to date. */
  sync(): void;
  /** After a sync and user code: takes up weights the user changed in the tfjs model. */
  refresh(): void;
  dispose(): void;
}

/** Which engine `trainAutoencoder` would use for `model`, and why (builds the graph, starts nothing). */
export function chooseModelEngine(model: LayersModel, requested?: TrainingEngine, caller = 'train'): EngineChoice {
  return selectEngine<EngineChoice>(requested, caller, () => {
    buildModelStep(new GraphProgram(), model);
    return { engine: 'graph', reason: '' };
  }, (reason) => ({ engine: 'eager', reason }));
}

function buildModelStep(program: GraphProgram, model: LayersModel): TrainStepHandle {
  return program.addTrainStep({ name: 'train', layers: chainLayers(model), inputShape: inputShapeOf(model), loss: graphLossOf(model), metrics: graphMetricsOf(model), model });
}

function eagerModelStepper(model: LayersModel): ModelStepper {
  return {
    engine: 'eager',
    async train(x, target, dropoutSeed) {
      setDropoutSeeds(model, dropoutSeed);
      const result = await model.trainOnBatch(x, target);
      return Array.isArray(result) ? result : [result];
    },
    sync() {},
    refresh() {},
    dispose() {
      setDropoutSeeds(model, undefined);
    },
  };
}

export function createModelStepper(model: LayersModel, requested: TrainingEngine | undefined, caller: string): ModelStepper {
  return selectEngine(requested, caller, () => graphModelStepper(model), () => eagerModelStepper(model));
}

function graphModelStepper(model: LayersModel): ModelStepper {
  const { program, step } = cachedProgram(model, trainingKey(model), () => {
    const built = new GraphProgram();
    return { program: built, step: buildModelStep(built, model) };
  });
  program.push();
  return {
    engine: 'graph',
    train: (x, target, dropoutSeed) => trainAndRead(program, step, x, target, dropoutSeed),
    sync: () => program.pull(),
    refresh: () => program.push(),
    // The session stays cached with the model for the next call (see cachedProgram).
    dispose() {},
  };
}

/** The three steps of a GAN iteration. */
export interface GanStepper {
  readonly engine: 'graph' | 'eager';
  /** D learns on `images` with `labels`; returns its loss. */
  trainDiscriminator(images: Tensor, labels: Tensor, dropoutSeed: number): Promise<number>;
  /** G's images for `noise`, in inference mode (as `generator.predict`). */
  generate(noise: Tensor): Tensor;
  /** The combined step: G learns to make D answer `labels`. */
  trainGenerator(noise: Tensor, labels: Tensor, dropoutSeed: number): Promise<number>;
  sync(): void;
  refresh(): void;
  dispose(): void;
}

/** Which engine `trainGan` would use, and why (builds the graph, starts nothing). */
export function chooseGanEngine(gan: Dcgan, requested?: TrainingEngine): EngineChoice {
  return selectEngine<EngineChoice>(requested, 'trainGan', () => {
    buildGanSteps(new GraphProgram(), gan);
    return { engine: 'graph', reason: '' };
  }, (reason) => ({ engine: 'eager', reason }));
}

function buildGanSteps(program: GraphProgram, gan: Dcgan): { dStep: TrainStepHandle; gStep: TrainStepHandle; generate: InferenceHandle } {
  const { generator, discriminator, combined } = gan;
  const dLayers = chainLayers(discriminator);
  const gLayers = chainLayers(generator);
  return {
    dStep: program.addTrainStep({ name: 'discriminator', layers: dLayers, inputShape: inputShapeOf(discriminator), loss: graphLossOf(discriminator), model: discriminator }),
    generate: program.addInference('generate', gLayers, inputShapeOf(generator)),
    // The combined model's optimizer holds only G's variables (see models/dcgan.ts), so this
    // step updates G and leaves D as it is, like the book's frozen D.
    gStep: program.addTrainStep({ name: 'combined', layers: [...gLayers, ...dLayers], inputShape: inputShapeOf(generator), loss: graphLossOf(combined), model: combined }),
  };
}

function eagerGanStepper(gan: Dcgan): GanStepper {
  const { generator, discriminator, combined } = gan;
  return {
    engine: 'eager',
    async trainDiscriminator(images, labels, dropoutSeed) {
      setDropoutSeeds(discriminator, dropoutSeed);
      return await discriminator.trainOnBatch(images, labels) as number;
    },
    generate: (noise) => generator.predict(noise) as Tensor,
    async trainGenerator(noise, labels, dropoutSeed) {
      setDropoutSeeds(discriminator, dropoutSeed);
      return await combined.trainOnBatch(noise, labels) as number;
    },
    sync() {},
    refresh() {},
    dispose() {
      setDropoutSeeds(discriminator, undefined);
    },
  };
}

export function createGanStepper(gan: Dcgan, requested: TrainingEngine | undefined): GanStepper {
  return selectEngine(requested, 'trainGan', () => graphGanStepper(gan), () => eagerGanStepper(gan));
}

function graphGanStepper(gan: Dcgan): GanStepper {
  const { discriminator, combined } = gan;
  const { program, steps } = cachedProgram(combined, trainingKey(discriminator, combined), () => {
    const built = new GraphProgram();
    return { program: built, steps: buildGanSteps(built, gan) };
  });
  program.push();
  return {
    engine: 'graph',
    trainDiscriminator: async (images, labels, dropoutSeed) => (await trainAndRead(program, steps.dStep, images, labels, dropoutSeed))[0],
    generate: (noise) => program.runInference(steps.generate, noise),
    trainGenerator: async (noise, labels, dropoutSeed) => (await trainAndRead(program, steps.gStep, noise, labels, dropoutSeed))[0],
    sync: () => program.pull(),
    refresh: () => program.push(),
    dispose() {},
  };
}
