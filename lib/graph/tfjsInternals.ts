/**
 * The one door to tfjs's private state. The graph engine needs what tfjs uses inside but does not
 * export in its types: a compiled model's own train function, the layers' variables, whether a
 * model was disposed, the optimizers' step count, every use of a variable's value (its `dataId`),
 * and the native backend's SavedModel session calls (the trace's own reach into the backend and
 * tfjs-core lives in trace.ts). Every such read or write is written for one tfjs version
 * (TFJS_VERSION_WRITTEN_FOR). On any other version the training engine does not trust them: under
 * 'auto' it trains with tfjs's own eager steps and warns once naming both versions; 'graph' throws.
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

/** The nested model a layer is, if it is one (a Sequential or functional model used as a layer). */
export function asNestedModel(layer: LayerLike): LayersModel | undefined {
  const nested = layer as unknown as LayersModel;
  return Array.isArray(nested.layers) && Array.isArray(nested.inputs) ? nested : undefined;
}

/** tfjs counts applied steps in the protected `iterations_`; graph steps are added to it. */
export function addOptimizerIterations(optimizer: Optimizer, steps: number): void {
  const counted = optimizer as unknown as { iterations_?: number };
  counted.iterations_ = (counted.iterations_ ?? 0) + steps;
}

/** Sets tfjs's count of applied steps (a dry run of a step is undone with it). */
export function setOptimizerIterations(optimizer: Optimizer, steps: number): void {
  (optimizer as unknown as { iterations_?: number }).iterations_ = steps;
}

/** The part of tfjs-node's NodeJSKernelBackend the graph session uses (untyped in tfjs's exports). */
export interface NativeSessionBackend {
  loadSavedModelMetaGraph(dir: string, tags: string): number;
  /** The native binding; scripts/tfjs-node/session-config.patch gives loadSavedModel a session config. */
  binding: { loadSavedModel(dir: string, tags: string, config: Uint8Array): number };
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

/** Told before each use of a watched variable's value, after each write, and before it is disposed. */
export interface VariableListener {
  beforeUse(): void;
  afterWrite(): void;
  /** Runs while the variable is still alive: a session holding it can copy back and go. */
  beforeDispose(): void;
}

const watched = new WeakSet<Variable>();

/**
 * Watches every use of a tf.Variable: tfjs reaches a variable's value only through its `dataId` (an
 * op reading it, `assign` replacing it, `dispose`), so a getter and setter on that field see every
 * read and write, whoever makes it (a layer's call, an optimizer's update, getWeights, save). The
 * training engine copies a session's newer values in before a use, and learns of a write. The first
 * watch of a variable is the only one.
 */
export function watchVariable(variable: Variable, listener: VariableListener): void {
  if (watched.has(variable)) return;
  watched.add(variable);
  const target = variable as unknown as { dataId: object; dispose(): void };
  let dataId = target.dataId;
  Object.defineProperty(target, 'dataId', {
    configurable: true,
    get() {
      listener.beforeUse();
      return dataId;
    },
    set(value: object) {
      dataId = value;
      listener.afterWrite();
    },
  });
  const dispose = target.dispose;
  target.dispose = function disposeWatched(this: Variable) {
    if (!this.isDisposed) listener.beforeDispose();
    dispose.call(this);
  };
}

/** A compiled model's own train function: one step on [inputs, targets] returning [loss, metrics]. */
export function trainFunctionOf(model: LayersModel): (data: Tensor[]) => Tensor[] {
  // A Sequential trains through the functional model inside it.
  const inner = (model as unknown as { model?: LayersModel }).model ?? model;
  return (inner as unknown as { makeTrainFunction(): (data: Tensor[]) => Tensor[] }).makeTrainFunction();
}
