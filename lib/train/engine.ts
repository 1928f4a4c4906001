/**
 * Compiled training steps: `compiled(model)` gives a model's `trainOnBatch` and `predict` as
 * one TensorFlow graph each, run in a native session, like Keras's traced train function.
 * The notebooks' own loops and the library's (trainGan, fit) all train through it.
 *
 * Engines:
 * - 'graph': the step is compiled once into a TensorFlow graph (lib/graph) and run natively;
 *   2-3x faster per step on this project's models.
 * - 'eager': tfjs's own `model.trainOnBatch` and `model.predict`, one native call per op.
 * 'auto' (the default) takes the graph engine for models built from the layers it supports
 * (Dense, Conv2D, Conv2DTranspose, pooling, upsampling, reshapes, ReLU, LeakyReLU,
 * BatchNormalization, Dropout; Adam or Adadelta; binary cross-entropy or MSE, with accuracy as
 * the only metric) and the eager one otherwise, saying why.
 *
 * Models that share weights (a GAN's D, G and combined model) share one session: their steps
 * are compiled into one graph holding each weight once, so D's own step and the combined step
 * see each other's updates at once, and the combined step leaves D as it is (its optimizer only
 * holds G's weights: Keras's freeze).
 *
 * Where the weights are: during training the session holds the newest values. Any tfjs read of
 * a weight (predict, evaluate, getWeights, summaries, save) first copies them back, and any tfjs
 * write (setWeights, loading) is copied into the session before the next step; so cells can
 * read and change the models between steps without thinking about it. A copy costs a few
 * milliseconds and happens only when something reads after training.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import {
  chainLayers,
  graphLossOf,
  graphMetricsOf,
  GraphProgram,
  optimizerVariables,
  UnsupportedModelError,
  type InferenceHandle,
  type TrainStepHandle,
} from '../graph/program';
import { layerVariables, tfjsVersionMismatch, watchVariable, type LayerVariableLike } from '../graph/tfjsInternals';
import type { Dcgan } from '../models/dcgan';
import { deriveSeed, randomSeed } from '../random';
import { setDropoutSeeds } from './dropout';
import { SessionSync, type SessionRelease } from './sessionSync';
import { afterStep, beforeStep } from './interrupt';

export type TrainingEngine = 'auto' | 'graph' | 'eager';

export interface EngineChoice {
  engine: 'graph' | 'eager';
  /** Why the eager engine was chosen under 'auto' (empty for the graph engine). */
  reason: string;
}

const warnedVersions = new Set<string>();

/**
 * The one place that decides the engine. 'eager' (or, under 'auto', a backend other than the
 * native one, or a tfjs version whose internals the graph engine was not written for) takes
 * `eager`. Otherwise `graph` runs: a model it cannot compile (UnsupportedModelError) takes
 * `eager` with the reason under 'auto' and throws under 'graph'; any other failure (TensorFlow
 * refusing the graph: an older C library, no writable temporary folder) also falls back under
 * 'auto', with a warning on stderr, since training can still go on.
 */
function selectEngine<T>(
  requested: TrainingEngine | undefined,
  caller: string,
  graph: () => T,
  eager: (reason: string) => T,
): T {
  const engine = requested ?? 'auto';
  if (engine !== 'auto' && engine !== 'graph' && engine !== 'eager') {
    throw new Error(`${caller}: options.engine must be 'auto', 'graph' or 'eager'; got ${JSON.stringify(requested)}.`);
  }
  if (engine === 'eager') return eager('requested');
  if (tf.getBackend() !== 'tensorflow') {
    if (engine === 'graph')
      throw new Error(
        `${caller}: the graph engine needs the native backend; the active backend is "${tf.getBackend()}".`,
      );
    return eager(`backend "${tf.getBackend()}"`);
  }
  const mismatch = tfjsVersionMismatch();
  if (mismatch) {
    if (engine === 'graph')
      throw new Error(
        `${caller}: ${mismatch}; use engine: 'eager' or install the tfjs version in package.json (npm run setup).`,
      );
    if (!warnedVersions.has(mismatch)) {
      warnedVersions.add(mismatch);
      console.warn(`${caller}: ${mismatch}; training with tfjs's eager trainOnBatch instead (2-3x slower).`);
    }
    return eager(mismatch);
  }
  try {
    return graph();
  } catch (error) {
    if (engine === 'graph') throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (!(error instanceof UnsupportedModelError)) {
      console.warn(
        `${caller}: the graph engine could not start (${message.split('\n')[0]}); ` +
          "training with tfjs's eager trainOnBatch instead (2-3x slower).",
      );
    }
    return eager(message);
  }
}

function inputShapeOf(model: LayersModel): number[] {
  return model.inputs[0].shape.slice(1) as number[];
}

/**
 * The optimizer's settings the graph holds as constants (beta1, beta2, rho, epsilon); the
 * learning rate is fed at every step instead, so it may change at any time.
 */
function optimizerSettings(model: LayersModel): string {
  const { learningRate: _fedEachStep, ...constants } = model.optimizer.getConfig();
  return JSON.stringify(constants);
}

/** What a compiled graph depends on, per trained model (a new compile changes the first two). */
function trainingKey(models: LayersModel[]): unknown[] {
  return models.flatMap((model) => [model.optimizer, optimizerVariables(model), optimizerSettings(model)]);
}

function sameKey(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

/**
 * Models whose steps share one graph and session, because they share weights. Members are
 * models with a train step (`trained`) or an inference pass (`predicted`); the graph is built
 * when a step first runs, and rebuilt when a member joins or an optimizer changes (a new compile).
 */
class Workspace extends SessionSync {
  readonly trained: LayersModel[] = [];
  readonly predicted: LayersModel[] = [];
  readonly variables = new Set<LayerVariableLike>();
  readonly steps = new Map<LayersModel, TrainStepHandle>();
  readonly passes = new Map<LayersModel, InferenceHandle>();
  private key: unknown[] = [];

  /** Builds every member's step and pass into `program` (which may be a scratch one). */
  static build(program: GraphProgram, trained: LayersModel[], predicted: LayersModel[]) {
    const steps = new Map<LayersModel, TrainStepHandle>();
    const passes = new Map<LayersModel, InferenceHandle>();
    for (const model of trained) {
      steps.set(
        model,
        program.addTrainStep({
          name: `train_${steps.size}`,
          layers: chainLayers(model),
          inputShape: inputShapeOf(model),
          loss: graphLossOf(model),
          metrics: graphMetricsOf(model),
          model,
        }),
      );
    }
    for (const model of predicted)
      passes.set(model, program.addInference(`predict_${passes.size}`, chainLayers(model), inputShapeOf(model)));
    return { steps, passes };
  }

  /** The started program with every member's step, the session holding the newest values. */
  ready(): GraphProgram {
    const key = trainingKey(this.trained);
    const complete = this.trained.every((m) => this.steps.has(m)) && this.predicted.every((m) => this.passes.has(m));
    if (this.program && complete && sameKey(key, this.key)) {
      if (this.tfjsNewer) this.push();
      return this.program;
    }
    this.release();
    const program = new GraphProgram();
    const { steps, passes } = Workspace.build(program, this.trained, this.predicted);
    program.start();
    steps.forEach((step, model) => this.steps.set(model, step));
    passes.forEach((pass, model) => this.passes.set(model, pass));
    this.key = key;
    this.adopt(program);
    return program;
  }

  /** Copies the newest values back, then frees the session (the next step builds a new one). */
  release(how: SessionRelease = 'release'): void {
    this.releaseSession(how);
    this.steps.clear();
    this.passes.clear();
  }

  /** Removes a member (a model that left for the eager engine). */
  remove(model: LayersModel): void {
    const trainedAt = this.trained.indexOf(model);
    if (trainedAt >= 0) this.trained.splice(trainedAt, 1);
    const predictedAt = this.predicted.indexOf(model);
    if (predictedAt >= 0) this.predicted.splice(predictedAt, 1);
    this.steps.delete(model);
    this.passes.delete(model);
  }

  /** Runs a train step; returns the loss and metrics. */
  async train(model: LayersModel, x: Tensor, y: Tensor, dropoutSeed: number): Promise<number[]> {
    const program = this.ready();
    const step = this.steps.get(model) as TrainStepHandle;
    const seed = step.seed ? tf.tensor1d([dropoutSeed | 0, 0x5eed], 'int32') : undefined;
    let results: Tensor[];
    try {
      results = program.runTrainStep(step, x, y, seed);
    } finally {
      seed?.dispose();
    }
    this.sessionNewer = true;
    try {
      return await Promise.all(results.map(async (value) => (await value.data())[0]));
    } finally {
      tf.dispose(results);
    }
  }

  predict(model: LayersModel, x: Tensor): Tensor {
    const program = this.ready();
    return program.runInference(this.passes.get(model) as InferenceHandle, x);
  }
}

/** The workspace each tfjs weight belongs to. */
const owners = new WeakMap<LayerVariableLike, Workspace>();

function watch(variable: LayerVariableLike): void {
  watchVariable(variable, {
    before: () => owners.get(variable)?.beforeTfjsAccess(),
    afterWrite: () => owners.get(variable)?.afterTfjsWrite(),
    // The first of a workspace's weights to be disposed lets its session go, while the rest are alive.
    beforeDispose: () => {
      const workspace = owners.get(variable);
      if (workspace) abandon(workspace, 'dispose');
    },
  });
}

/** Frees a workspace's session and forgets the workspace: its models' next step joins a new one. */
function abandon(workspace: Workspace, how: SessionRelease): void {
  workspace.release(how);
  for (const variable of workspace.variables) owners.delete(variable);
}

/** The workspaces holding any of `model`'s weights. */
function workspacesOf(model: LayersModel): Set<Workspace> {
  const found = new Set<Workspace>();
  for (const variable of layerVariables(model)) {
    const workspace = owners.get(variable);
    if (workspace) found.add(workspace);
  }
  return found;
}

/**
 * Adds `model` to the workspace of the models it shares weights with (merging workspaces it
 * bridges), after checking that the graph engine can compile the whole group; throws
 * UnsupportedModelError (and changes nothing) when it cannot.
 */
function join(model: LayersModel, role: 'train' | 'predict'): Workspace {
  const existing = [...workspacesOf(model)];
  const trained = unique([...existing.flatMap((w) => w.trained), ...(role === 'train' ? [model] : [])]);
  const predicted = unique([...existing.flatMap((w) => w.predicted), ...(role === 'predict' ? [model] : [])]);
  const already =
    existing.length === 1 && (role === 'train' ? existing[0].trained : existing[0].predicted).includes(model);
  if (already) return existing[0];
  // A scratch build checks the group compiles (layers, losses, one optimizer per model); no session.
  Workspace.build(new GraphProgram(), trained, predicted);
  trainingKey(trained);
  const target = existing[0] ?? new Workspace();
  for (const other of existing.slice(1)) {
    other.release();
    other.trained.forEach((m) => target.trained.includes(m) || target.trained.push(m));
    other.predicted.forEach((m) => target.predicted.includes(m) || target.predicted.push(m));
  }
  const list = role === 'train' ? target.trained : target.predicted;
  if (!list.includes(model)) list.push(model);
  for (const member of [...target.trained, ...target.predicted]) {
    for (const variable of layerVariables(member)) {
      owners.set(variable, target);
      target.variables.add(variable);
      watch(variable);
    }
  }
  return target;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/**
 * Frees the compiled graph and session that `model` trains in (with every model sharing its
 * weights), after copying the newest weights and optimizer state back. The next step compiles
 * again. Disposing the weights (`model.dispose()`) frees the session too, and so does the garbage
 * collector once the models are unreachable.
 */
export function releaseTrainingGraph(model: LayersModel): void {
  for (const workspace of workspacesOf(model)) abandon(workspace, 'release');
}

/** Options of `compiled(model, options)`. */
export interface CompiledOptions {
  /** 'auto' (default): the graph engine when the model allows it, else eager; 'graph' or 'eager' to insist. */
  engine?: TrainingEngine;
  /** Base seed for the Dropout masks of successive steps. Default: a random one. */
  seed?: number;
}

/** Options of one step. */
export interface StepOptions {
  /** Seed of this step's Dropout masks. Default: derived from the handle's seed and step count. */
  dropoutSeed?: number;
}

/** A model's compiled `trainOnBatch` and `predict` (see `compiled`). */
export interface CompiledModel {
  readonly model: LayersModel;
  /** The engine the steps run on. */
  readonly engine: 'graph' | 'eager';
  /** Why the eager engine runs them (empty on the graph engine). */
  readonly reason: string;
  /** Trains on one batch (x, labels y) and returns the loss, as `model.trainOnBatch` does. */
  trainOnBatch(x: Tensor, y: Tensor, options?: StepOptions): Promise<number>;
  /** Like trainOnBatch, with the metrics after the loss (in `model.metricsNames` order). */
  trainOnBatchWithMetrics(x: Tensor, y: Tensor, options?: StepOptions): Promise<number[]>;
  /** The model's output for x in inference mode, as `model.predict` (the caller disposes it). */
  predict(x: Tensor): Tensor;
}

function shapeText(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => (d === null ? 'batch' : String(d))).join(', ')}]`;
}

function checkInput(caller: string, model: LayersModel, x: Tensor): void {
  const expected = model.inputs[0].shape.slice(1);
  const ok = x.rank === expected.length + 1 && expected.every((d, i) => d === null || d === x.shape[i + 1]);
  if (!ok) {
    throw new Error(
      `${caller}: x has shape ${shapeText(x.shape)}; model "${model.name}" takes ${shapeText([null, ...expected])}.`,
    );
  }
}

function checkLabels(caller: string, model: LayersModel, x: Tensor, y: Tensor): void {
  const batch = x.shape[0];
  if (y.shape[0] !== batch) {
    throw new Error(`${caller}: x holds ${batch} samples but y holds ${y.shape[0]}; each sample needs its label.`);
  }
  const output = model.outputs[0].shape.slice(1);
  const ok = y.rank === output.length + 1 && output.every((d, i) => d === null || d === y.shape[i + 1]);
  if (!ok) {
    throw new Error(
      `${caller}: y has shape ${shapeText(y.shape)}; ` +
        `model "${model.name}" outputs ${shapeText([batch, ...output])}, and y must match it.`,
    );
  }
}

function interruptedMessage(model: LayersModel): string {
  return (
    `Training interrupted: "${model.name}" and the models that share its weights ` +
    'keep the weights of their last finished step. Rerun the cell to carry on from there.'
  );
}

/**
 * Compiles a model's training step and inference pass, like Keras traces `train_on_batch`:
 *
 *     const d = compiled(discriminator);
 *     const dLoss = await d.trainOnBatch(images, labels);
 *     const fakes = compiled(generator).predict(noise);
 *
 * Each step runs the forward pass, the gradients and the optimizer update as one TensorFlow
 * graph. Models the graph engine does not cover run eagerly (`engine` and `reason` say so).
 * Handles are cheap: the compiled graph is cached with the models and reused by every handle.
 * Each step first gives the event loop a turn when training has held it for a while and stops
 * with TrainingInterrupted after Kernel > Interrupt (see train/interrupt.ts).
 */
export function compiled(model: LayersModel, options: CompiledOptions = {}): CompiledModel {
  const caller = `compiled(${model.name})`;
  const canTrain = Boolean(model.optimizer);
  // A compiled model joins with its train step; its inference pass joins at the first predict.
  let choice = selectEngine<EngineChoice>(
    options.engine,
    caller,
    () => {
      join(model, canTrain ? 'train' : 'predict');
      return { engine: 'graph', reason: '' };
    },
    (reason) => ({ engine: 'eager', reason }),
  );
  const requested = options.engine ?? 'auto';
  const baseSeed = options.seed ?? randomSeed();
  let steps = 0;

  /**
   * Under 'auto', a graph that cannot be compiled now (a layer frozen since) or cannot start
   * (TensorFlow refusing it) leaves this model to eager tfjs, with a warning; 'graph' throws.
   */
  const leaveGraphOrThrow = (error: unknown) => {
    if (requested === 'graph') throw error;
    const message = error instanceof Error ? error.message : String(error);
    for (const workspace of workspacesOf(model)) {
      workspace.pull();
      workspace.remove(model);
    }
    choice = { engine: 'eager', reason: message };
    const why =
      error instanceof UnsupportedModelError ? message : `the graph engine could not start (${message.split('\n')[0]})`;
    console.warn(`${caller}: ${why}; training with tfjs's eager trainOnBatch instead (2-3x slower).`);
  };

  const graphWorkspace = (): Workspace | undefined => {
    if (choice.engine !== 'graph') return undefined;
    const workspace = [...workspacesOf(model)][0] ?? join(model, canTrain ? 'train' : 'predict');
    return workspace;
  };

  const trainWithMetrics = async (x: Tensor, y: Tensor, stepOptions: StepOptions = {}): Promise<number[]> => {
    const stepCaller = `${caller}.trainOnBatch`;
    if (!model.optimizer)
      throw new Error(
        `${stepCaller}: model "${model.name}" is not compiled; call ${model.name}.compile({ optimizer, loss }) first ` +
          '(a model used only for predict needs no compile).',
      );
    checkInput(stepCaller, model, x);
    checkLabels(stepCaller, model, x, y);
    await beforeStep(() => interruptedMessage(model));
    const dropoutSeed = stepOptions.dropoutSeed ?? deriveSeed(baseSeed, steps);
    steps += 1;
    try {
      let workspace = graphWorkspace();
      if (workspace) {
        try {
          workspace.ready();
        } catch (error) {
          leaveGraphOrThrow(error);
          workspace = undefined;
        }
      }
      if (workspace) return await workspace.train(model, x, y, dropoutSeed);
      // Eager: reading the weights pulls any session's newer values; the update then makes tfjs newer.
      setDropoutSeeds(model, dropoutSeed);
      try {
        const result = await model.trainOnBatch(x, y);
        return Array.isArray(result) ? result : [result];
      } finally {
        setDropoutSeeds(model, undefined);
        for (const shared of workspacesOf(model)) shared.tfjsNewer = true;
      }
    } finally {
      afterStep();
    }
  };

  return {
    model,
    get engine() {
      return choice.engine;
    },
    get reason() {
      return choice.reason;
    },
    trainOnBatchWithMetrics: trainWithMetrics,
    trainOnBatch: async (x, y, stepOptions) => (await trainWithMetrics(x, y, stepOptions))[0],
    predict(x: Tensor): Tensor {
      checkInput(`${caller}.predict`, model, x);
      if (choice.engine === 'graph') {
        let workspace: Workspace | undefined;
        try {
          workspace = join(model, 'predict');
          workspace.ready();
        } catch (error) {
          leaveGraphOrThrow(error);
          workspace = undefined;
        }
        if (workspace) return workspace.predict(model, x);
      }
      return model.predict(x) as Tensor;
    },
  };
}

/** Which engine `compiled(model)` (and so `fit`) would use, and why. Starts nothing. */
export function chooseModelEngine(model: LayersModel, requested?: TrainingEngine, caller = 'train'): EngineChoice {
  return selectEngine<EngineChoice>(
    requested,
    caller,
    () => {
      Workspace.build(new GraphProgram(), [model], []);
      trainingKey([model]);
      return { engine: 'graph', reason: '' };
    },
    (reason) => ({ engine: 'eager', reason }),
  );
}

/** Which engine `trainGan` would use for all three models, and why. Starts nothing. */
export function chooseGanEngine(gan: Dcgan, requested?: TrainingEngine): EngineChoice {
  return selectEngine<EngineChoice>(
    requested,
    'trainGan',
    () => {
      Workspace.build(new GraphProgram(), [gan.discriminator, gan.combined], [gan.generator]);
      trainingKey([gan.discriminator, gan.combined]);
      return { engine: 'graph', reason: '' };
    },
    (reason) => ({ engine: 'eager', reason }),
  );
}

/** Copies the newest trained values into `model`'s tfjs weights and optimizer state now. */
export function syncWeights(model: LayersModel): void {
  for (const workspace of workspacesOf(model)) workspace.pull();
}
