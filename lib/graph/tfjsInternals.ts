/**
 * The one door to tfjs's private state. The graph engine needs fields that tfjs uses inside
 * but does not export in its types: a compiled model's loss and the variables its optimizer
 * trains, the layers' weight fields, container nodes, the optimizers' slots, step counts and
 * learning rate, Dropout's seed, and the native backend's SavedModel session calls. Every such
 * read or write lives here, written for one tfjs version (TFJS_VERSION_WRITTEN_FOR). On any
 * other version the training engine does not trust these fields: under 'auto' it trains with
 * tfjs's own eager trainOnBatch and warns once naming both versions; 'graph' throws.
 */
import type { LayersModel, Optimizer, Tensor, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../tf';

/** The tfjs release whose private fields this file reads (tfjs-core and tfjs-layers). */
export const TFJS_VERSION_WRITTEN_FOR = '4.22.0';

let versionForTesting: string | undefined;

/** The installed tfjs-layers version (the package whose model internals are read here). */
export function installedTfjsVersion(): string {
  return versionForTesting ?? (tf.version as Record<string, string>)['tfjs-layers'] ?? tf.version.tfjs ?? 'unknown';
}

/** Tests only: pretend another tfjs version is installed (undefined restores the real one). */
export function pretendTfjsVersionForTesting(version: string | undefined): void {
  versionForTesting = version;
}

/** Why tfjs's internals cannot be trusted here, or undefined when the versions match. */
export function tfjsVersionMismatch(): string | undefined {
  const installed = installedTfjsVersion();
  if (installed === TFJS_VERSION_WRITTEN_FOR) return undefined;
  return (
    `the graph engine reads tfjs internals written for tfjs ${TFJS_VERSION_WRITTEN_FOR}, ` +
    `and tfjs ${installed} is installed`
  );
}

/** What the graph needs of a tfjs LayerVariable (the class is not exported by tfjs-layers). */
export interface LayerVariableLike {
  readonly name: string;
  readonly shape: number[];
  readonly trainable: boolean;
  read(): Variable;
  write(value: Tensor): unknown;
  dispose(): void;
}

type LayerLike = LayersModel['layers'][number];

/** The loss a compiled model was compiled with: a name, a function, or undefined. */
export function compiledLoss(model: LayersModel): unknown {
  return (model as unknown as { loss?: unknown }).loss;
}

/**
 * The variables the model's optimizer updates, in the order tfjs passes them to it, or
 * undefined for a model that was never compiled. Set by LayersModel.compile (on the inner
 * functional model of a Sequential); trainOnBatch hands exactly these to optimizer.minimize.
 */
export function collectedTrainableWeights(model: LayersModel): LayerVariableLike[] | undefined {
  type Compiled = { collectedTrainableWeights?: LayerVariableLike[]; model?: Compiled };
  const compiled = model as unknown as Compiled;
  return compiled.collectedTrainableWeights ?? compiled.model?.collectedTrainableWeights;
}

/** A layer's (or model's) weights as LayerVariables (tfjs types them as its public LayerVariable). */
export function layerVariables(layer: LayerLike | LayersModel): LayerVariableLike[] {
  return layer.weights as unknown as LayerVariableLike[];
}

/**
 * Whether a model's weights are gone: tfjs counts a model's uses (1 when built, +1 each time another
 * model applies it) in `_refCount`, disposes its layers when `dispose()` takes it to 0, and throws if
 * `dispose()` is called again.
 */
export function isModelDisposed(model: LayersModel): boolean {
  return (model as unknown as { _refCount: number | null })._refCount === 0;
}

/** How many times the model's layers are applied (tfjs keeps one container node per application). */
export function containerNodeCount(model: LayersModel): number | undefined {
  return (model as unknown as { containerNodes?: Set<string> }).containerNodes?.size;
}

/** The nested model a layer is, if it is one (a Sequential or functional model used as a layer). */
export function asNestedModel(layer: LayerLike): LayersModel | undefined {
  const nested = layer as unknown as LayersModel;
  return Array.isArray(nested.layers) && Array.isArray(nested.inputs) ? nested : undefined;
}

/** A weight field of a layer: Conv and Dense keep `kernel`/`bias`, BatchNormalization its four. */
export function layerWeightField(layer: LayerLike, field: string): LayerVariableLike | undefined {
  return (layer as unknown as Record<string, LayerVariableLike | null | undefined>)[field] ?? undefined;
}

/** One optimizer slot per trained variable, or undefined before tfjs created it. */
export type SlotList = Array<{ originalName: string; variable: Variable } | undefined>;

/** tfjs-core's AdamOptimizer state (protected fields). */
export interface AdamState {
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: SlotList;
  accumulatedSecondMoment: SlotList;
}

/** tfjs-core's AdadeltaOptimizer state (protected fields). */
export interface AdadeltaState {
  rho: number;
  epsilon: number;
  accumulatedGrads: SlotList;
  accumulatedUpdates: SlotList;
}

export function adamState(optimizer: Optimizer): AdamState {
  return optimizer as unknown as AdamState;
}

export function adadeltaState(optimizer: Optimizer): AdadeltaState {
  return optimizer as unknown as AdadeltaState;
}

/** tfjs counts applied steps in the protected `iterations_`; graph steps are added to it. */
export function addOptimizerIterations(optimizer: Optimizer, steps: number): void {
  const counted = optimizer as unknown as { iterations_?: number };
  counted.iterations_ = (counted.iterations_ ?? 0) + steps;
}

/** The optimizer's current learning rate (a plain field every tfjs optimizer has). */
export function optimizerLearningRate(optimizer: Optimizer): number {
  return (optimizer as unknown as { learningRate: number }).learningRate;
}

/**
 * Sets the seed a Dropout layer uses for its next masks. `seed` is private readonly in tfjs's
 * typings, but Dropout.call reads it on every call; writing it is how one seeds the next mask.
 */
export function setDropoutLayerSeed(layer: LayerLike, seed: number | undefined): void {
  (layer as unknown as { seed?: number }).seed = seed;
}

/** The part of tfjs-node's NodeJSKernelBackend the graph session uses (untyped in tfjs's exports). */
export interface NativeSessionBackend {
  loadSavedModelMetaGraph(dir: string, tags: string): number;
  runSavedModel(
    id: number,
    inputs: Tensor[],
    inputInfos: Array<{ name: string; tfDtype: string }>,
    outputNames: string[],
  ): Tensor[];
  deleteSavedModel(id: number): void;
  /** How many sessions the native binding holds (loaded and not yet deleted). */
  getNumOfSavedModels(): number;
}

/** The native backend's session calls, or undefined when the active backend is not tfjs-node's. */
export function nativeSessionBackend(): NativeSessionBackend | undefined {
  const backend = tf.backend() as unknown as Partial<NativeSessionBackend>;
  if (tf.getBackend() !== 'tensorflow' || typeof backend.runSavedModel !== 'function') return undefined;
  return backend as NativeSessionBackend;
}

/** Told before each read and write of a watched variable, after each write, and before it is disposed. */
export interface VariableListener {
  before(): void;
  afterWrite(): void;
  /** Runs while the weights are still alive: a session holding them can copy back and go. */
  beforeDispose(): void;
}

const WATCHED = Symbol('watchedByTrainingEngine');
type Watched = LayerVariableLike & { [WATCHED]?: Set<VariableListener> };

/** Replaces the variable's read and write with ones that tell its listeners first. */
function listenersOf(variable: LayerVariableLike): Set<VariableListener> {
  const target = variable as Watched;
  const existing = target[WATCHED];
  if (existing) return existing;
  const listeners = new Set<VariableListener>();
  const prototype = Object.getPrototypeOf(variable) as LayerVariableLike;
  Object.defineProperty(target, WATCHED, { value: listeners });
  Object.defineProperty(target, 'read', {
    configurable: true,
    value: function read(this: LayerVariableLike) {
      for (const listener of [...listeners]) listener.before();
      return prototype.read.call(this);
    },
  });
  Object.defineProperty(target, 'write', {
    configurable: true,
    value: function write(this: LayerVariableLike, value: Tensor) {
      for (const listener of [...listeners]) listener.before();
      const result = prototype.write.call(this, value);
      for (const listener of [...listeners]) listener.afterWrite();
      return result;
    },
  });
  // Layer.dispose frees a weight through this method once no model uses its layer any more.
  Object.defineProperty(target, 'dispose', {
    configurable: true,
    value: function dispose(this: LayerVariableLike) {
      for (const listener of [...listeners]) listener.beforeDispose();
      prototype.dispose.call(this);
    },
  });
  return listeners;
}

const engineWatched = new WeakSet<LayerVariableLike>();

/**
 * Watches a LayerVariable's reads and writes. Every tfjs path that uses a weight goes through
 * these two methods (predict and evaluate read it in `call`, getWeights and save read it,
 * setWeights and loadWeights write it), so the training engine can copy a compiled session's
 * newer values in before a read, and learn of a write. `before` runs before each read and
 * write; `afterWrite` after a write; `beforeDispose` before the weight is disposed (by
 * `model.dispose()` or `layer.dispose()`). The first call for a variable wins (the engine's watch).
 */
export function watchVariable(variable: LayerVariableLike, listener: VariableListener): void {
  if (engineWatched.has(variable)) return;
  engineWatched.add(variable);
  listenersOf(variable).add(listener);
}

/**
 * Adds another listener to a variable's reads and writes (a second session holding the same
 * weights, such as a VAE's); returns the function that removes it.
 */
export function addVariableListener(variable: LayerVariableLike, listener: VariableListener): () => void {
  const listeners = listenersOf(variable);
  listeners.add(listener);
  return () => listeners.delete(listener);
}
