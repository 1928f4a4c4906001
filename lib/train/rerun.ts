/**
 * Freeing what a notebook cell built the last time it ran. A rerun of a build cell makes new models
 * and drops the old ones: the garbage collector frees their sessions, but tfjs keeps a variable until
 * it is disposed, so each rerun would leave the old weights and optimizer state behind.
 */
import type { LayersModel, Optimizer } from '@tensorflow/tfjs-node';
import { asNestedModel, isModelDisposed } from '../graph/tfjsInternals';
import { releaseTrainingGraph } from './engine';

/** What one call of releaseOnRerun recorded for its cell. */
interface CellBuild {
  models: LayersModel[];
  /** The models' optimizers when the cell ran: a later compile may replace them, which drops these. */
  optimizers: Optimizer[];
}

/** The latest build of each cell, by the name the cell gives (one kernel, one library instance). */
const buildsByCell = new Map<string, CellBuild>();

function optimizersOf(models: LayersModel[]): Optimizer[] {
  // `optimizer` is undefined until the model is compiled, though tfjs types it as always set.
  return models.flatMap((model) => (model.optimizer ? [model.optimizer] : []));
}

/**
 * Remembers the models a notebook cell just built, under the cell's name; when the cell runs again,
 * disposes the models it built the time before (those not passed again) and their optimizers, the
 * caller's own included (a `tf.train.adam(...)` passed to `compile`). Pass every model that shares
 * layers (an autoencoder's encoder, decoder and whole model; G, D and the combined model), so tfjs's
 * count of each layer's uses reaches 0 and its weights go. Models a clean-up cell already disposed
 * are skipped. Call it right after the build: `releaseOnRerun('04 autoencoder', [encoder, decoder, model])`.
 */
export function releaseOnRerun(cell: string, models: LayersModel[]): void {
  const previous = buildsByCell.get(cell);
  buildsByCell.set(cell, { models: [...models], optimizers: optimizersOf(models) });
  if (!previous) return;

  const builtNow = new Set(models);
  const inUseNow = new Set(optimizersOf(models));
  const alive = previous.models.filter((model) => !isModelDisposed(model));
  const survivors = alive.filter((model) => builtNow.has(model));
  // tfjs's dispose of a model also disposes each model nested in it twice (as a layer, then as an inner
  // container), which would free a kept G or D: a dropped model that holds a kept one stays (in the
  // notebooks such a model, 01's combined one, has no weights of its own).
  const dropped = alive.filter(
    (model) => !builtNow.has(model) && !survivors.some((kept) => containsModel(model, kept)),
  );
  // A model passed again may still train in a session that holds a dropped optimizer's state: copy it
  // back into tfjs (where the disposal below frees it) before that optimizer goes.
  for (const model of survivors) releaseTrainingGraph(model);
  const droppedOptimizers = new Set([...previous.optimizers, ...optimizersOf(dropped)]);
  // Optimizers first, then the models, as the notebooks' clean-up cells do: the session then copies back
  // only weights, and gives the disposed optimizers no new slots. Disposing an optimizer twice is harmless
  // (a builder's owned optimizer also goes with its model).
  for (const optimizer of droppedOptimizers) {
    if (!inUseNow.has(optimizer)) optimizer.dispose();
  }
  // Outer models first (the fewer dropped models hold one, the sooner): disposing one disposes those
  // nested in it. A model that was used by a model kept earlier still counts that use; every user is
  // gone now, so it is disposed until its count reaches 0.
  const holders = (model: LayersModel) => dropped.filter((outer) => containsModel(outer, model)).length;
  for (const model of [...dropped].sort((a, b) => holders(a) - holders(b))) {
    while (!isModelDisposed(model)) model.dispose();
  }
}

/** Whether `inner` is one of `outer`'s layers, or nested deeper. */
function containsModel(outer: LayersModel, inner: LayersModel): boolean {
  return outer.layers.some((layer) => {
    const nested = asNestedModel(layer);
    return nested !== undefined && (nested === inner || containsModel(nested, inner));
  });
}
