/**
 * Trained models kept between runs: a chapter saves its models at the end, and a later run
 * (parameter `reuseTrained = true`) loads them instead of training.
 *
 * A save is a save folder of persist.ts, `build/models/<notebook>/`: each model in tfjs's own
 * format (`<model>/model.json` + `<model>/weights.bin`), and a manifest of what they were trained
 * with (settings, data source, final losses, extras such as the loss history) and each model's
 * architecture (layer classes, output shapes, parameter counts). Weights only, no optimizer
 * state.
 *
 * Loading checks that the save is whole, its settings, data source and architecture, and every
 * model's weight shapes before it changes any weight: it loads all models or none.
 */
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-node';
import * as persist from '../persist';
import { shown } from '../persist';

const FORMAT = 'gan-notebooks-saved-models';

/**
 * Where saves go unless a call says otherwise: build/models/, or the folder in the environment
 * variable GAN_NOTEBOOKS_MODELS_DIR (the headless runner sets it for profiles other than
 * "full", so a smoke run never replaces the models of a full one).
 */
export function savedModelsRoot(): string {
  const fromEnvironment = process.env.GAN_NOTEBOOKS_MODELS_DIR;
  return fromEnvironment ? path.resolve(fromEnvironment) : path.join(persist.REPO_ROOT, 'build', 'models');
}

/** JSON values: what settings and extras hold once written to the manifest. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One layer's class, output shape and parameter count (names vary per process, so they are left out). */
type LayerFingerprint = { className: string; outputShape: string; params: number };

export interface SavedModelsManifest extends persist.SaveManifest {
  notebook: string;
  settings: Record<string, JsonValue>;
  dataSource: string;
  finalLosses: Record<string, number>;
  /** Whatever else the notebook kept (e.g. the loss history, to redraw its chart without training). */
  extras: Record<string, JsonValue>;
  models: Record<string, { layers: LayerFingerprint[]; params: number }>;
}

export interface SaveTrainedModelsOptions {
  /** The notebook's name, e.g. '04-latent-space': the folder's name and part of the messages. */
  notebook: string;
  /**
   * The models by name (each becomes a subfolder). To load: freshly built models with the
   * architecture the notebook defines now, whose weights are replaced by the saved ones.
   */
  models: Record<string, LayersModel>;
  /**
   * What they were trained with, as plain JSON values (finite numbers, strings, booleans, null,
   * arrays and plain objects of them); a load must ask for the same.
   */
  settings: Record<string, unknown>;
  /** Where the training data came from, e.g. 'MNIST embedded test set, 8,000 train images'. */
  dataSource: string;
  /** The last losses, e.g. { loss: 0.041, val_loss: 0.043 }. */
  finalLosses?: Record<string, number>;
  /** Anything else to keep, as plain JSON, e.g. { history: history } for the loss chart. Default none. */
  extras?: Record<string, unknown>;
  /** Parent folder of the notebook's folder. Default savedModelsRoot(). */
  root?: string;
}

export interface LoadTrainedModelsOptions extends Pick<
  SaveTrainedModelsOptions,
  'notebook' | 'models' | 'settings' | 'root'
> {
  /** If given, must equal the saved data source. */
  dataSource?: string;
}

/** Thrown when saved models are missing, damaged or do not match; the message says which file and what differs. */
export class SavedModelsError extends Error {
  constructor(notebook: string, text: string) {
    const retrain =
      `run ${notebook} with reuseTrained = false to train and save them again (JupyterLab: in its parameters ` +
      `cell; headless: npm run notebooks -- --only ${notebook} --set reuseTrained=false)`;
    super(`Saved models of ${notebook}: ${text}\nTo fix it, ${retrain}.`);
    this.name = 'SavedModelsError';
  }
}

/** The notebook's save folder, after checking the names that become folder names. */
function saveFolder(caller: string, options: Pick<SaveTrainedModelsOptions, 'notebook' | 'models' | 'root'>) {
  const { notebook, models } = options;
  if (typeof notebook !== 'string' || !/^[\w.-]+$/.test(notebook) || notebook.startsWith('.')) {
    throw new Error(
      `${caller}: notebook must be a plain name such as '04-latent-space' (letters, digits, '-', '_', '.'); ` +
        `got ${JSON.stringify(notebook)}.`,
    );
  }
  if (Object.keys(models).length === 0) throw new Error(`${caller}: models is empty; pass at least one model by name.`);
  const bad = Object.keys(models).find((name) => !/^[\w-]+$/.test(name));
  if (bad !== undefined) {
    throw new Error(
      `${caller}: model name ${JSON.stringify(bad)} cannot be a folder name; use letters, digits, - and _.`,
    );
  }
  return path.join(path.resolve(options.root ?? savedModelsRoot()), notebook);
}

function fingerprint(model: LayersModel): SavedModelsManifest['models'][string] {
  const layers = model.layers.map((layer) => ({
    className: layer.getClassName(),
    outputShape: JSON.stringify(layer.outputShape),
    params: layer.countParams(),
  }));
  return { layers, params: model.countParams() };
}

/** The layers that differ, one line each, at most five. */
function layerDifferences(saved: LayerFingerprint[], now: LayerFingerprint[]): string[] {
  const describe = (layer?: LayerFingerprint) =>
    layer ? `${layer.className} ${layer.outputShape}, ${layer.params} parameters` : 'no layer';
  return Array.from({ length: Math.max(saved.length, now.length) }, (_, i) => [describe(saved[i]), describe(now[i])])
    .flatMap(([was, is], i) => (was === is ? [] : [`layer ${i}: ${was} saved, ${is} now`]))
    .slice(0, 5);
}

/** JSON with object keys sorted: equal for equal values, whatever the key order. */
function sortedJson(value: unknown): string {
  const sortKeys = (_: string, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v;
  return JSON.stringify(value, sortKeys);
}

function settingsDifferences(saved: Record<string, JsonValue>, now: Record<string, JsonValue>): string[] {
  return [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort().flatMap((name) => {
    const [was, is] = [sortedJson(saved[name]), sortedJson(now[name])];
    if (was === is) return [];
    return [
      `${name}: ${name in saved ? `${was} in the save` : 'not in the save'}, ${name in now ? is : 'not given'} now`,
    ];
  });
}

/**
 * Where `value` stops being plain JSON (finite numbers, strings, booleans, null, arrays and plain
 * objects of them), as a path such as "config.filters[2]"; undefined when it is plain. Object
 * properties that are undefined are allowed only with `skipUndefined` (JSON leaves them out).
 */
function jsonProblem(value: unknown, where: string, skipUndefined: boolean): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${where} (${value})`;
  const prototype = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (Array.isArray(value) || prototype === Object.prototype || prototype === null) {
    for (const [key, item] of Object.entries(value as object)) {
      if (item === undefined && skipUndefined && !Array.isArray(value)) continue;
      const problem = jsonProblem(item, Array.isArray(value) ? `${where}[${key}]` : `${where}.${key}`, skipUndefined);
      if (problem) return problem;
    }
    return undefined;
  }
  const kind = typeof value === 'object' ? `a ${prototype?.constructor?.name ?? 'non-plain'} object` : typeof value;
  return `${where} (${kind})`;
}

/** Checks a record of plain JSON values and returns it as written to JSON (undefined properties dropped). */
function plainJson(caller: string, name: string, record: Record<string, unknown>, skipUndefined = false) {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new Error(`${caller}: ${name} must be an object of named values, e.g. { epochs: 100, batchSize: 32 }.`);
  }
  const problem = jsonProblem(record, name, skipUndefined);
  if (problem) {
    const plain = 'use finite numbers, strings, booleans, null, arrays and plain objects of them';
    throw new Error(`${caller}: ${problem} is not plain JSON; ${plain}.`);
  }
  return JSON.parse(JSON.stringify(record)) as Record<string, JsonValue>;
}

/**
 * Saves the models under `<root>/<notebook>/` with their manifest, replacing an earlier save
 * only once the new one is complete. Returns the folder.
 */
export async function saveTrainedModels(options: SaveTrainedModelsOptions): Promise<string> {
  const caller = 'saveTrainedModels';
  const dir = saveFolder(caller, options);
  const settings = plainJson(caller, 'settings', options.settings);
  const extras = plainJson(caller, 'extras', options.extras ?? {}, true);
  const { notebook, dataSource, finalLosses = {} } = options;
  if (typeof dataSource !== 'string' || dataSource === '') {
    throw new Error(
      `${caller}: dataSource must say where the training data came from, e.g. 'MNIST embedded test set'.`,
    );
  }
  const infinite = Object.entries(finalLosses).find(([, value]) => !Number.isFinite(value));
  if (infinite) throw new Error(`${caller}: finalLosses.${infinite[0]} must be a finite number; got ${infinite[1]}.`);
  return persist.writeSaveFolder(dir, FORMAT, async (temp) => {
    const models: SavedModelsManifest['models'] = {};
    for (const [name, model] of Object.entries(options.models)) {
      models[name] = fingerprint(model);
      await persist.writeModel(temp, name, model);
    }
    return { notebook, settings, dataSource, finalLosses, extras, models };
  });
}

/**
 * Loads the weights saved by saveTrainedModels into freshly built models, after checking that
 * the save exists and is whole, that its settings (and data source, if given) equal the ones
 * given now, and that every model's architecture and weight shapes match. Throws a
 * SavedModelsError naming the file and what differs, and how to retrain; then no model has
 * changed. Returns the folder and its manifest (final losses, extras, date, ...).
 */
export async function loadTrainedModels(
  options: LoadTrainedModelsOptions,
): Promise<{ dir: string; manifest: SavedModelsManifest }> {
  const { notebook, models } = options;
  const dir = saveFolder('loadTrainedModels', options);
  const settings = plainJson('loadTrainedModels', 'settings', options.settings);
  const problem = (text: string) => new SavedModelsError(notebook, text);
  const manifest = persist.readSaveFolder<SavedModelsManifest>(dir, FORMAT, problem);
  const manifestPath = shown(path.join(dir, 'manifest.json'));
  const settingsDiff = settingsDifferences(manifest.settings ?? {}, settings);
  if (settingsDiff.length) {
    throw problem(`the settings differ from the ones in ${manifestPath}:\n  ${settingsDiff.join('\n  ')}`);
  }
  if (options.dataSource !== undefined && options.dataSource !== manifest.dataSource) {
    const now = `but the data now is "${options.dataSource}"`;
    throw problem(`they were trained on "${manifest.dataSource}" (${manifestPath}), ${now}.`);
  }
  for (const [name, model] of Object.entries(models)) {
    const saved = manifest.models?.[name];
    if (!saved) {
      throw problem(
        `${manifestPath} has no model "${name}" (it has ${Object.keys(manifest.models ?? {}).join(', ')}).`,
      );
    }
    const differences = layerDifferences(saved.layers, fingerprint(model).layers);
    if (differences.length) {
      const where = `model "${name}" in ${shown(path.join(dir, name))}`;
      throw problem(`${where} has another architecture than the one built now:\n  ${differences.join('\n  ')}`);
    }
  }
  persist.loadModels(dir, models, problem);
  return { dir, manifest };
}

export interface TrainOrLoadOptions<H extends object> extends Omit<SaveTrainedModelsOptions, 'finalLosses' | 'extras'> {
  /** true: load the saved models (and the history saved with them) instead of training. */
  reuse: boolean;
  /** Trains the models and resolves with the history (plain JSON: arrays of numbers and the like). */
  train: () => Promise<H>;
}

/** The final losses for the manifest: the last finite value of each numeric array field but the step counters. */
function lastValues(history: object): Record<string, number> {
  const losses: Record<string, number> = {};
  for (const [name, values] of Object.entries(history)) {
    const last: unknown = Array.isArray(values) ? values[values.length - 1] : undefined;
    if (name !== 'epoch' && name !== 'iteration' && typeof last === 'number' && Number.isFinite(last))
      losses[name] = last;
  }
  return losses;
}

/**
 * The `reuseTrained` switch of a chapter in one call: with `reuse`, loads the saved models into
 * `models` (loadTrainedModels: all checks, clear errors) and resolves with the history saved
 * beside them; otherwise runs `train`, saves the models with its history (saveTrainedModels)
 * and resolves with that history. Either way later cells get the same history to draw.
 */
export async function trainOrLoad<H extends object>(options: TrainOrLoadOptions<H>): Promise<H> {
  const { notebook, models, settings, dataSource, root } = options;
  const names = Object.keys(models).join(' and ');
  if (options.reuse) {
    const { dir, manifest } = await loadTrainedModels({ notebook, models, settings, dataSource, root });
    const history = manifest.extras?.history;
    if (history === undefined || history === null || typeof history !== 'object') {
      const file = shown(path.join(dir, 'manifest.json'));
      throw new SavedModelsError(notebook, `${file} holds no training history (extras.history).`);
    }
    console.log(`loaded ${names} from ${shown(dir)} (trained ${manifest.savedAt}) instead of training`);
    return history as unknown as H; // written by trainOrLoad from a history of this type
  }
  const history = await options.train();
  const finalLosses = lastValues(history);
  const dir = await saveTrainedModels({
    notebook,
    models,
    settings,
    dataSource,
    root,
    finalLosses,
    extras: { history },
  });
  console.log(`saved ${names} to ${shown(dir)} (reuseTrained = true loads them next time)`);
  return history;
}
