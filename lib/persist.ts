/**
 * Writing to disk, for the saved models (train/saved.ts), the digit classifier's cache (through
 * saved.ts), the README's figures and the MNIST download (tools/).
 *
 * Atomic writes: a file or a folder is written under a temporary name beside its target,
 * `.tmp-<name>-<pid>-<random>`, flushed, then renamed into place (an earlier folder is first
 * renamed aside to `.old-<name>-...`, and deleted once the new one is in place). A crash or a
 * failed write leaves the old save or the new one under the real name, never half of one.
 * removeLeftovers deletes the temporaries of processes that are gone.
 *
 * A save folder holds one folder per model in tfjs's own format (`<model>/model.json` and
 * `<model>/weights.bin`, which tf.loadLayersModel reads too) and `manifest.json`, written last:
 * format, version, date, library version, the byte size of every other file, and the caller's
 * own fields (settings, history, ...).
 * readSaveFolder checks all of it, and every failure names the file and what was expected.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from './tf';

export const REPO_ROOT = path.resolve(__dirname, '..');
const MANIFEST = 'manifest.json';
const VERSION = 2;

/** What every manifest holds, beside the fields of the kind of save. */
export interface SaveManifest {
  format: string;
  version: number;
  savedAt: string;
  libraryVersion: string;
  /** Byte size of every other file in the folder, by its path inside it. */
  files: Record<string, number>;
}

/** Makes the error thrown for a missing, damaged or mismatched save from what is wrong. */
export type Problem = (text: string) => Error;

/** A path for messages: relative to the project when inside it. */
export function shown(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function beside(target: string, kind: 'tmp' | 'old'): string {
  const name = `.${kind}-${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(target), name);
}

/** Writes and flushes a file. */
async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const handle = await fs.promises.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file atomically: a temporary file beside it, flushed, then renamed into place. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = beside(file, 'tmp');
  try {
    await writeSynced(temp, data);
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes the temporary files and folders in `dir` left by processes that are gone (killed mid-write). */
export function removeLeftovers(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const pid = /^\.(?:tmp|old)-.+-(\d+)-[0-9a-f]+$/.exec(name)?.[1];
    if (pid !== undefined && !processAlive(Number(pid)))
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

function libraryVersion(): string {
  try {
    const { name, version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    return `${name}@${version}`;
  } catch {
    return 'unknown';
  }
}

/** Every file under `dir`, as paths inside it. */
function filesUnder(dir: string, inside = ''): string[] {
  return fs.readdirSync(path.join(dir, inside), { withFileTypes: true }).flatMap((entry) => {
    const file = path.posix.join(inside, entry.name);
    return entry.isDirectory() ? filesUnder(dir, file) : [file];
  });
}

/**
 * Writes a save folder at `target` atomically (see the top of this file) and resolves with `target`:
 * `fill` writes the files into the temporary folder it is given and returns the manifest's own fields.
 */
export async function writeSaveFolder(
  target: string,
  format: string,
  fill: (temp: string) => Promise<object>,
): Promise<string> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  removeLeftovers(path.dirname(target));
  const temp = beside(target, 'tmp');
  await fs.promises.mkdir(temp);
  let old: string | undefined;
  try {
    const fields = await fill(temp);
    const files = Object.fromEntries(filesUnder(temp).map((file) => [file, fs.statSync(path.join(temp, file)).size]));
    const head = { format, version: VERSION, savedAt: new Date().toISOString(), libraryVersion: libraryVersion() };
    await writeSynced(path.join(temp, MANIFEST), `${JSON.stringify({ ...head, ...fields, files }, null, 2)}\n`);
    if (fs.existsSync(target)) await fs.promises.rename(target, (old = beside(target, 'old')));
    await fs.promises.rename(temp, target);
  } catch (error) {
    if (old && !fs.existsSync(target)) await fs.promises.rename(old, target);
    await fs.promises.rm(temp, { recursive: true, force: true });
    throw error;
  }
  if (old) await fs.promises.rm(old, { recursive: true, force: true });
  return target;
}

function readJson(file: string, what: string, problem: Problem): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw problem(`${shown(file)} (${what}) is not valid JSON (${(error as Error).message}); the save is damaged.`);
  }
}

/**
 * Reads the manifest of the save folder `dir` and checks that the folder is whole: the manifest
 * exists and is one of `format`, and every file it lists has the size it records.
 */
export function readSaveFolder<M extends SaveManifest>(dir: string, format: string, problem: Problem): M {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) {
    const why = fs.existsSync(dir) ? 'the folder holds no complete save' : 'nothing was saved yet';
    throw problem(`${shown(file)} does not exist: ${why}.`);
  }
  const manifest = readJson(file, 'the manifest', problem) as M;
  if (manifest?.format !== format) {
    throw problem(
      `${shown(file)} is not a manifest of ${format} (its "format" is ${JSON.stringify(manifest?.format)}).`,
    );
  }
  if (manifest.version !== VERSION) {
    throw problem(`${shown(file)} has format version ${manifest.version}; this library reads version ${VERSION}.`);
  }
  for (const [name, size] of Object.entries(manifest.files ?? {})) {
    const actual = fs.statSync(path.join(dir, name), { throwIfNoEntry: false })?.size;
    if (actual !== size) {
      const holds = actual === undefined ? 'is missing' : `holds ${actual} bytes`;
      throw problem(
        `${shown(path.join(dir, name))} ${holds}, but ${shown(file)} records ${size} bytes: the save is damaged.`,
      );
    }
  }
  return manifest;
}

/** Writes `model` in tfjs's format into `<dir>/<name>/`: model.json (topology, weight list) and weights.bin. */
export async function writeModel(dir: string, name: string, model: LayersModel): Promise<void> {
  const saved: tf.io.ModelArtifacts[] = [];
  const info = { dateSaved: new Date(), modelTopologyType: 'JSON' as const };
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved.push(artifacts);
      return { modelArtifactsInfo: info };
    }),
  );
  const { modelTopology, weightSpecs, weightData, format, generatedBy } = saved[0];
  const weights = weightData ? tf.io.CompositeArrayBuffer.join(weightData) : new ArrayBuffer(0);
  await writeSynced(path.join(dir, name, 'weights.bin'), new Uint8Array(weights));
  const weightsManifest = [{ paths: ['weights.bin'], weights: weightSpecs ?? [] }];
  await writeSynced(
    path.join(dir, name, 'model.json'),
    JSON.stringify({ modelTopology, format, generatedBy, weightsManifest }),
  );
}

/** A model's saved weights, checked against `model` (count and shapes), in `model.weights` order. */
function readModelWeights(dir: string, name: string, model: LayersModel, problem: Problem): Tensor[] {
  const file = path.join(dir, name, 'model.json');
  const json = readJson(file, `model "${name}"`, problem) as { weightsManifest?: [{ weights?: unknown }] };
  const specs = json?.weightsManifest?.[0]?.weights as tf.io.WeightsManifestEntry[];
  if (!Array.isArray(specs)) throw problem(`${shown(file)} has no weightsManifest[0].weights; the save is damaged.`);
  // tfjs writes weights in `model.weights` order; their names carry per-process counters, so match by position.
  const differs = (text: string) => problem(`model "${name}" ${text} in ${shown(file)}; the architecture differs.`);
  if (specs.length !== model.weights.length) {
    throw differs(`has ${model.weights.length} weight tensors now, but ${specs.length}`);
  }
  model.weights.forEach((weight, i) => {
    if (String(weight.shape) !== String(specs[i].shape)) {
      throw differs(`weight ${i} (${weight.originalName}) has shape [${weight.shape}] now, but [${specs[i].shape}]`);
    }
  });
  const weightsFile = path.join(dir, name, 'weights.bin');
  try {
    const data = fs.readFileSync(weightsFile);
    const decoded = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs);
    return specs.map((spec) => decoded[spec.name]);
  } catch (error) {
    throw problem(`${shown(weightsFile)} cannot be decoded (${(error as Error).message}); the save is damaged.`);
  }
}

/**
 * Puts the weights saved in the folder `dir` into `models` (by the names they were saved under),
 * after reading and checking every model's: all models change, or none.
 */
export function loadModels(dir: string, models: Record<string, LayersModel>, problem: Problem) {
  const read: Array<[LayersModel, Tensor[]]> = [];
  try {
    for (const [name, model] of Object.entries(models)) read.push([model, readModelWeights(dir, name, model, problem)]);
    for (const [model, values] of read) model.setWeights(values);
  } finally {
    for (const [, values] of read) tf.dispose(values);
  }
}
