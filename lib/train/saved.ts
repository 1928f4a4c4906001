/**
 * Trained models kept between runs: a chapter saves its models at the end, and a later run
 * (parameter `reuseTrained = true`) loads them instead of training.
 *
 * Layout: `build/models/<notebook>/`
 *   `<model>/model.json` + `<model>/weights.bin`  written by tfjs itself, `model.save('file://...')`,
 *                                                  so `tf.loadLayersModel` reads them too;
 *   `manifest.json`                                what they were trained with: settings, data
 *                                                  source, final losses, date, library version,
 *                                                  and each model's architecture (layer classes,
 *                                                  output shapes, parameter counts).
 * Weights only, no optimizer state: pictures, encodings and decodings need nothing else. To go
 * on training from where a run stopped, use checkpoints (train/checkpoint.ts), which keep
 * Adam's moments too.
 *
 * Saving writes everything into a temporary folder beside the target and renames it into
 * place, so a crash never leaves a half-written save under the real name. Loading checks
 * everything (settings, architecture, file sizes, weight shapes) for every model before it
 * changes any weight: it loads all models or none.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { tf } from '../tf';

const FORMAT = 'gan-notebooks-saved-models';
const VERSION = 1;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Where saves go unless a call says otherwise: build/models/, or the folder in the environment
 * variable GAN_NOTEBOOKS_MODELS_DIR (the headless runner sets it for profiles other than
 * "full", so a smoke run never replaces the models of a full one).
 */
export function savedModelsRoot(): string {
  const fromEnvironment = process.env.GAN_NOTEBOOKS_MODELS_DIR;
  return fromEnvironment ? path.resolve(fromEnvironment) : path.join(REPO_ROOT, 'build', 'models');
}

/** JSON values: what settings and extras hold once written to the manifest. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One layer as the manifest records it; names are left out (tfjs numbers them per process). */
export interface LayerFingerprint {
  className: string;
  outputShape: string;
  params: number;
}

export interface ModelFingerprint {
  layers: LayerFingerprint[];
  params: number;
}

export interface SavedModelsManifest {
  format: typeof FORMAT;
  version: number;
  notebook: string;
  savedAt: string;
  libraryVersion: string;
  settings: Record<string, JsonValue>;
  dataSource: string;
  finalLosses: Record<string, number>;
  /** Whatever else the notebook kept (e.g. the loss history, to redraw its chart without training). */
  extras: Record<string, JsonValue>;
  models: Record<string, ModelFingerprint>;
}

export interface SaveTrainedModelsOptions {
  /** The notebook's name, e.g. '04-latent-space': the folder's name and part of the messages. */
  notebook: string;
  /** The models to keep, by name (each becomes a subfolder). */
  models: Record<string, LayersModel>;
  /**
   * What they were trained with, as plain JSON values (finite numbers, strings, booleans, null,
   * arrays and plain objects of them); a later load must ask for the same.
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

export interface LoadTrainedModelsOptions {
  notebook: string;
  /**
   * Freshly built models with the architecture the notebook defines now, by the names they were
   * saved under. Their weights are replaced by the saved ones (shared layers, such as an
   * encoder inside an autoencoder, see the change too).
   */
  models: Record<string, LayersModel>;
  /** The settings now; every one must equal the saved value (and no saved one may be missing). */
  settings: Record<string, unknown>;
  /** If given, must equal the saved data source. */
  dataSource?: string;
  /** Parent folder of the notebook's folder. Default savedModelsRoot(). */
  root?: string;
  /** How to retrain, for the messages. Default: set reuseTrained = false, with the runner command. */
  retrain?: string;
}

/** Thrown when saved models are missing, damaged or do not match; the message says which file and what differs. */
export class SavedModelsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SavedModelsError';
  }
}

function checkNotebookName(caller: string, notebook: string): void {
  if (typeof notebook !== 'string' || !/^[\w.-]+$/.test(notebook) || notebook.startsWith('.')) {
    throw new Error(
      `${caller}: notebook must be a plain name such as '04-latent-space' (letters, digits, '-', '_', '.'); ` +
        `got ${JSON.stringify(notebook)}.`,
    );
  }
}

function checkModelNames(caller: string, models: Record<string, LayersModel>): void {
  const names = Object.keys(models);
  if (names.length === 0) throw new Error(`${caller}: models is empty; pass at least one model by name.`);
  for (const name of names) {
    if (!/^[\w-]+$/.test(name)) {
      throw new Error(
        `${caller}: model name ${JSON.stringify(name)} cannot be a folder name; use letters, digits, '-' and '_'.`,
      );
    }
  }
}

/** Shown where a path goes into a message: relative to the project when inside it. */
function shown(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function libraryVersion(): string {
  try {
    const packageJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      name?: string;
      version?: string;
    };
    return `${packageJson.name ?? 'gan-notebooks-ts'}@${packageJson.version ?? 'unknown'}`;
  } catch {
    return 'unknown';
  }
}

/** Layer classes, output shapes and parameter counts: what must match for saved weights to fit. */
export function modelFingerprint(model: LayersModel): ModelFingerprint {
  const layers = model.layers.map((layer) => ({
    className: layer.getClassName(),
    outputShape: JSON.stringify(layer.outputShape),
    params: layer.countParams(),
  }));
  return { layers, params: model.countParams() };
}

/** Each difference between two fingerprints, as a line, at most `limit` of them. */
function fingerprintDifferences(saved: ModelFingerprint, now: ModelFingerprint, limit = 5): string[] {
  const differences: string[] = [];
  if (saved.layers.length !== now.layers.length) {
    differences.push(`${saved.layers.length} layers saved, ${now.layers.length} now`);
  }
  const count = Math.min(saved.layers.length, now.layers.length);
  for (let i = 0; i < count && differences.length < limit; i++) {
    const [before, after] = [saved.layers[i], now.layers[i]];
    const parts: string[] = [];
    if (before.className !== after.className) parts.push(`class ${before.className} saved, ${after.className} now`);
    if (before.outputShape !== after.outputShape)
      parts.push(`output shape ${before.outputShape} saved, ${after.outputShape} now`);
    if (before.params !== after.params) parts.push(`${before.params} parameters saved, ${after.params} now`);
    if (parts.length) differences.push(`layer ${i} (${after.className}): ${parts.join('; ')}`);
  }
  if (differences.length === 0 && saved.params !== now.params)
    differences.push(`${saved.params} parameters saved, ${now.params} now`);
  return differences;
}

/** Key order does not matter; arrays and values must be equal. */
function canonicalJson(value: JsonValue | undefined): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function settingsDifferences(saved: Record<string, JsonValue>, now: Record<string, JsonValue>): string[] {
  const names = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
  return names
    .filter((name) => canonicalJson(saved[name]) !== canonicalJson(now[name]))
    .map((name) => {
      if (!(name in saved)) return `${name}: not in the save, ${canonicalJson(now[name])} now`;
      if (!(name in now)) return `${name}: ${canonicalJson(saved[name])} in the save, not given now`;
      return `${name}: ${canonicalJson(saved[name])} in the save, ${canonicalJson(now[name])} now`;
    });
}

/**
 * Where `value` stops being plain JSON (a value JSON writes and reads back unchanged: finite
 * numbers, strings, booleans, null, arrays and plain objects of them), as a path such as
 * "config.filters[2]"; undefined when it is plain. Object properties that are undefined are
 * allowed only with `skipUndefined` (JSON leaves them out).
 */
function jsonProblem(value: unknown, where: string, skipUndefined: boolean): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${where} (${value})`;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = jsonProblem(item, `${where}[${i}]`, skipUndefined);
      if (problem) return problem;
    }
    return undefined;
  }
  if (
    typeof value === 'object' &&
    (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
  ) {
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined && skipUndefined) continue;
      const problem = jsonProblem(item, `${where}.${key}`, skipUndefined);
      if (problem) return problem;
    }
    return undefined;
  }
  const kind =
    value === undefined
      ? 'undefined'
      : typeof value === 'object'
        ? `a ${Object.getPrototypeOf(value)?.constructor?.name ?? 'non-plain'} object`
        : typeof value;
  return `${where} (${kind})`;
}

/** Checks a record of plain JSON values and returns it as written to JSON (undefined properties dropped). */
function plainJson(
  caller: string,
  name: string,
  record: Record<string, unknown>,
  skipUndefined: boolean,
): Record<string, JsonValue> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new Error(`${caller}: ${name} must be an object of named values, e.g. { epochs: 100, batchSize: 32 }.`);
  }
  const problem = jsonProblem(record, name, skipUndefined);
  if (problem) {
    throw new Error(
      `${caller}: ${problem} is not plain JSON; ` +
        `use finite numbers, strings, booleans, null, arrays and plain objects of them.`,
    );
  }
  return JSON.parse(JSON.stringify(record)) as Record<string, JsonValue>;
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Saves the models under `<root>/<notebook>/` with their manifest, replacing an earlier save
 * only once the new one is complete. Returns the folder.
 */
export async function saveTrainedModels(options: SaveTrainedModelsOptions): Promise<string> {
  const caller = 'saveTrainedModels';
  checkNotebookName(caller, options.notebook);
  checkModelNames(caller, options.models);
  const settings = plainJson(caller, 'settings', options.settings, false);
  const extras = plainJson(caller, 'extras', options.extras ?? {}, true);
  if (typeof options.dataSource !== 'string' || options.dataSource === '') {
    throw new Error(
      `${caller}: dataSource must say where the training data came from, e.g. 'MNIST embedded test set'.`,
    );
  }
  for (const [name, value] of Object.entries(options.finalLosses ?? {})) {
    if (!Number.isFinite(value))
      throw new Error(`${caller}: finalLosses.${name} must be a finite number; got ${value}.`);
  }
  const root = path.resolve(options.root ?? savedModelsRoot());
  const finalDir = path.join(root, options.notebook);
  await fs.promises.mkdir(root, { recursive: true });
  const random = Math.random().toString(36).slice(2, 8);
  const tempDir = path.join(root, `.tmp-${options.notebook}-${process.pid}-${random}`);
  await fs.promises.mkdir(tempDir);
  try {
    const fingerprints: Record<string, ModelFingerprint> = {};
    for (const [name, model] of Object.entries(options.models)) {
      fingerprints[name] = modelFingerprint(model);
      const modelDir = path.join(tempDir, name);
      // tfjs's own file format; the optimizer is left out (see the file comment).
      await model.save(`file://${modelDir}`, { includeOptimizer: false });
      for (const file of fs.readdirSync(modelDir)) await syncFile(path.join(modelDir, file));
    }
    const manifest: SavedModelsManifest = {
      format: FORMAT,
      version: VERSION,
      notebook: options.notebook,
      savedAt: new Date().toISOString(),
      libraryVersion: libraryVersion(),
      settings,
      dataSource: options.dataSource,
      finalLosses: options.finalLosses ?? {},
      extras,
      models: fingerprints,
    };
    const manifestPath = path.join(tempDir, 'manifest.json');
    await fs.promises.writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFile(manifestPath);
    // The old save moves aside first (rename, so it is never half deleted under its real name).
    let oldDir: string | undefined;
    if (fs.existsSync(finalDir)) {
      oldDir = path.join(root, `.old-${options.notebook}-${process.pid}-${random}`);
      await fs.promises.rename(finalDir, oldDir);
    }
    await fs.promises.rename(tempDir, finalDir);
    if (oldDir) await fs.promises.rm(oldDir, { recursive: true, force: true });
    return finalDir;
  } catch (error) {
    await fs.promises.rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

function readJson(file: string, what: string, problem: (text: string) => SavedModelsError): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw problem(`${shown(file)} (${what}) cannot be read: ${(error as Error).message}.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw problem(`${shown(file)} (${what}) is not valid JSON (${(error as Error).message}); the save is damaged.`);
  }
}

/** A model's weights read from its folder and checked against the model; not yet applied. */
interface CheckedWeights {
  model: LayersModel;
  /** In `model.weights` order. */
  values: tf.Tensor[];
  /** Every tensor decoded, to dispose. */
  decoded: tf.Tensor[];
}

function readModelWeights(
  dir: string,
  name: string,
  model: LayersModel,
  problem: (text: string) => SavedModelsError,
): CheckedWeights {
  const modelJsonPath = path.join(dir, name, 'model.json');
  const modelJson = readJson(modelJsonPath, `model "${name}"`, problem) as {
    weightsManifest?: Array<{ paths?: string[]; weights?: WeightSpec[] }>;
  };
  const groups = modelJson.weightsManifest;
  if (!Array.isArray(groups) || groups.some((group) => !Array.isArray(group.paths) || !Array.isArray(group.weights))) {
    throw problem(
      `${shown(modelJsonPath)} has no usable weightsManifest (a list of { paths, weights }); the save is damaged.`,
    );
  }
  const specs = groups.flatMap((group) => group.weights as WeightSpec[]);
  const files = groups.flatMap((group) => group.paths as string[]);
  for (const [i, spec] of specs.entries()) {
    if (!Array.isArray(spec.shape) || !(spec.dtype in BYTES_PER_VALUE)) {
      throw problem(
        `${shown(modelJsonPath)}: weight ${i} (${spec.name}) has shape ${JSON.stringify(spec.shape)} ` +
          `and dtype ${JSON.stringify(spec.dtype)}; expected a list of sizes and float32, int32 or bool.`,
      );
    }
  }
  const buffers: Buffer[] = [];
  for (const file of files) {
    if (path.basename(file) !== file)
      throw problem(`${shown(modelJsonPath)} names a weights file outside its folder (${JSON.stringify(file)}).`);
    const weightsPath = path.join(dir, name, file);
    try {
      buffers.push(fs.readFileSync(weightsPath));
    } catch (error) {
      throw problem(
        `${shown(weightsPath)} (the weights of model "${name}") cannot be read: ${(error as Error).message}.`,
      );
    }
  }
  const data = Buffer.concat(buffers);
  const expectedBytes = specs.reduce(
    (sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * BYTES_PER_VALUE[spec.dtype],
    0,
  );
  if (data.length !== expectedBytes) {
    const shownWeightsFile = shown(path.join(dir, name, files[0] ?? 'weights.bin'));
    const fault = data.length < expectedBytes ? 'truncated' : 'longer than described';
    throw problem(
      `${shownWeightsFile} holds ${data.length} bytes, but ${shown(modelJsonPath)} describes ` +
        `${expectedBytes} bytes of weights: the file is ${fault}, the save is damaged.`,
    );
  }
  // tfjs writes weights in `model.weights` order; their names carry per-process counters, so match by position.
  if (specs.length !== model.weights.length) {
    throw problem(
      `model "${name}": ${shown(modelJsonPath)} has ${specs.length} weight tensors, ` +
        `the model built now has ${model.weights.length}; the architecture differs.`,
    );
  }
  model.weights.forEach((weight, i) => {
    if (weight.shape.join('x') !== specs[i].shape.join('x')) {
      throw problem(
        `model "${name}": weight ${i} (${weight.originalName}) has shape [${weight.shape}] now, ` +
          `but [${specs[i].shape}] in ${shown(modelJsonPath)}; the architecture differs.`,
      );
    }
  });
  const decoded = tf.io.decodeWeights(
    data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    specs as Parameters<typeof tf.io.decodeWeights>[1],
  );
  return { model, values: specs.map((spec) => decoded[spec.name]), decoded: Object.values(decoded) };
}

export interface LoadedTrainedModels {
  dir: string;
  manifest: SavedModelsManifest;
}

/**
 * Loads the weights saved by saveTrainedModels into freshly built models, after checking that
 * the save exists and is whole, that its settings (and data source, if given) equal the ones
 * given now, and that every model's architecture and weight shapes match. Throws a
 * SavedModelsError naming the file and what differs, and how to retrain; then no model has
 * changed. Returns the folder and its manifest (final losses, date, ...).
 */
export async function loadTrainedModels(options: LoadTrainedModelsOptions): Promise<LoadedTrainedModels> {
  const caller = 'loadTrainedModels';
  checkNotebookName(caller, options.notebook);
  checkModelNames(caller, options.models);
  const settings = plainJson(caller, 'settings', options.settings, false);
  const root = path.resolve(options.root ?? savedModelsRoot());
  const dir = path.join(root, options.notebook);
  const retrain =
    options.retrain ??
    `run ${options.notebook} with reuseTrained = false to train and save them again ` +
      `(JupyterLab: in its parameters cell; ` +
      `headless: npm run notebooks -- --only ${options.notebook} --set reuseTrained=false)`;
  const problem = (text: string) =>
    new SavedModelsError(`Saved models of ${options.notebook}: ${text}\nTo fix it, ${retrain}.`);

  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) {
    const why = fs.existsSync(dir) ? 'the folder holds no complete save' : 'nothing was saved yet';
    throw problem(`${shown(manifestPath)} does not exist: ${why}.`);
  }
  const manifest = readJson(manifestPath, 'the manifest', problem) as SavedModelsManifest;
  if (
    manifest === null ||
    typeof manifest !== 'object' ||
    manifest.format !== FORMAT ||
    typeof manifest.models !== 'object' ||
    manifest.models === null ||
    typeof manifest.settings !== 'object' ||
    manifest.settings === null
  ) {
    throw problem(
      `${shown(manifestPath)} is not a saved-models manifest ` +
        `(expected "format": "${FORMAT}" with settings and models).`,
    );
  }
  if (manifest.version !== VERSION) {
    throw problem(
      `${shown(manifestPath)} has format version ${manifest.version}; this library reads version ${VERSION}.`,
    );
  }
  manifest.extras ??= {};
  const settingsDiff = settingsDifferences(manifest.settings, settings);
  if (settingsDiff.length) {
    throw problem(`the settings differ from the ones in ${shown(manifestPath)}:\n  ${settingsDiff.join('\n  ')}`);
  }
  if (options.dataSource !== undefined && options.dataSource !== manifest.dataSource) {
    throw problem(
      `they were trained on "${manifest.dataSource}" (${shown(manifestPath)}), ` +
        `but the data now is "${options.dataSource}".`,
    );
  }
  for (const [name, model] of Object.entries(options.models)) {
    const saved = manifest.models[name];
    if (!saved) {
      throw problem(
        `${shown(manifestPath)} has no model "${name}" (it has ${Object.keys(manifest.models).join(', ') || 'none'}).`,
      );
    }
    const differences = fingerprintDifferences(saved, modelFingerprint(model));
    if (differences.length) {
      throw problem(
        `model "${name}" in ${shown(path.join(dir, name))} has another architecture than the one built now:\n  ` +
          differences.join('\n  '),
      );
    }
  }

  // Read and check every model's weights before touching any model: all or nothing.
  const checked: CheckedWeights[] = [];
  try {
    for (const [name, model] of Object.entries(options.models))
      checked.push(readModelWeights(dir, name, model, problem));
    for (const { model, values } of checked) model.setWeights(values);
  } finally {
    // setWeights copies the values into the models' variables.
    for (const { decoded } of checked) tf.dispose(decoded);
  }
  return { dir, manifest };
}

export interface TrainOrLoadOptions<H extends object> {
  notebook: string;
  /** true: load the saved models (and the history saved with them) instead of training. */
  reuse: boolean;
  models: Record<string, LayersModel>;
  /** What training depends on; loading insists on the same values. */
  settings: Record<string, unknown>;
  dataSource: string;
  /** Trains the models and resolves with the history (plain JSON: arrays of numbers and the like). */
  train: () => Promise<H>;
  /**
   * The final losses for the manifest. Default: the last value of every numeric array in the
   * history except the step counters `epoch` and `iteration` (loss, valLoss, dLoss, gLoss, ...).
   */
  finalLosses?: (history: H) => Record<string, number>;
  /** Parent folder of the notebook's folder. Default savedModelsRoot(). */
  root?: string;
  /** Receives the one line saying what was saved or loaded. Default console.log. */
  log?: (line: string) => void;
}

/** The last finite value of each numeric array field but the step counters. */
function lastValues(history: object): Record<string, number> {
  const losses: Record<string, number> = {};
  for (const [name, values] of Object.entries(history)) {
    if (name === 'epoch' || name === 'iteration' || !Array.isArray(values) || values.length === 0) continue;
    const last = values[values.length - 1];
    if (typeof last === 'number' && Number.isFinite(last)) losses[name] = last;
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
  const log = options.log ?? ((line: string) => console.log(line));
  const { notebook, models, settings, dataSource, root } = options;
  if (options.reuse) {
    const loaded = await loadTrainedModels({ notebook, models, settings, dataSource, root });
    const history = loaded.manifest.extras.history;
    if (history === undefined || history === null || typeof history !== 'object') {
      throw new SavedModelsError(
        `Saved models of ${notebook}: ${shown(path.join(loaded.dir, 'manifest.json'))} ` +
          `holds no training history (extras.history).\n` +
          `To fix it, run ${notebook} with reuseTrained = false to train and save them again.`,
      );
    }
    log(
      `loaded ${Object.keys(models).join(' and ')} from ${shown(loaded.dir)} ` +
        `(trained ${loaded.manifest.savedAt}) instead of training`,
    );
    return history as unknown as H; // written by trainOrLoad from a history of this type
  }
  const history = await options.train();
  const dir = await saveTrainedModels({
    notebook,
    models,
    settings,
    dataSource,
    root,
    finalLosses: (options.finalLosses ?? lastValues)(history),
    extras: { history: history },
  });
  log(`saved ${Object.keys(models).join(' and ')} to ${shown(dir)} (reuseTrained = true loads them next time)`);
  return history;
}
