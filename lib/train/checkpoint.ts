/**
 * Checkpoints: models, optimizer state and training state in one folder per step, written
 * atomically, so a run killed at any moment can resume from its last complete checkpoint.
 *
 * Layout: `<dir>/ckpt-<step>/`
 *   `<model>/model.json` + `<model>/weights.bin`  the tfjs format: tf.loadLayersModel reads it;
 *   `optimizers/<name>.bin`                       tfjs Optimizer.getWeights(): for Adam the
 *                                                  iteration count and first/second moments
 *                                                  (plus its running beta powers, see below),
 *                                                  for Adadelta its two accumulators;
 *   `manifest.json`, written last                 step, training state (history, seed), and
 *                                                  the byte size of every file above.
 * A checkpoint is written into `<dir>/.tmp-ckpt-<step>-<pid>-<random>/` and renamed to
 * `ckpt-<step>` only when every file is written and flushed; rename is atomic on one file
 * system, so a `ckpt-<step>` folder is always complete. Loading also re-checks the manifest's
 * file sizes, skips anything incomplete, and deletes leftover temporary folders.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, Optimizer, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { adamState } from '../graph/tfjsInternals';

/**
 * tfjs's Adam keeps beta1^t and beta2^t as running products (accBeta1, accBeta2, not part of
 * getWeights), and its setWeights recomputes them with pow(), which can differ in the last bit;
 * a GAN then drifts from the uninterrupted run by about 1e-4 within a few steps. They are saved
 * beside the moments, under these names, and put back exactly after setWeights.
 */
const ADAM_POWERS = ['accBeta1', 'accBeta2'] as const;
const ADAM_POWER_PREFIX = '__adam_';
/** The two private Adam variables (tfjs-core AdamOptimizer, not in its public type). */
type AdamPowers = Partial<Record<(typeof ADAM_POWERS)[number], Variable>>;

function adamPowers(optimizer: Optimizer): AdamPowers {
  return optimizer.getClassName() === 'Adam' ? adamState(optimizer) : {};
}

const FORMAT = 'gan-notebooks-checkpoint';
const VERSION = 1;
const CHECKPOINT_NAME = /^ckpt-(\d+)$/;

export interface CheckpointOptions {
  /** Folder that holds the checkpoints (created if missing). */
  dir: string;
  /** Save every this many iterations (GAN) or epochs (autoencoders). */
  every: number;
  /** Continue from the newest complete checkpoint in `dir`, if any. Default false. */
  resume?: boolean;
  /** How many newest checkpoints to keep; older ones are deleted. Default 2. */
  keep?: number;
  /**
   * Called while a checkpoint is half written (model files on disk, manifest not yet, not yet
   * renamed): for logs, and for the test that kills a process mid-save. Awaited.
   */
  onSaving?: (info: { step: number; tempDir: string }) => void | Promise<void>;
}

export interface CheckpointContents {
  models: Record<string, LayersModel>;
  /** Optimizers by name; those lacking getWeights (or without state yet) still save their step count when they can. */
  optimizers: Record<string, Optimizer | undefined>;
  /** JSON-serialisable training state (history, seed, ...). */
  state: Record<string, unknown>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

interface Manifest {
  format: string;
  version: number;
  step: number;
  savedAt: string;
  models: string[];
  optimizers: Record<string, { className: string; specs: WeightSpec[] }>;
  files: Record<string, number>;
  state: Record<string, unknown>;
}

export interface LoadedCheckpoint {
  path: string;
  step: number;
  state: Record<string, unknown>;
}

async function writeFileSynced(file: string, data: Uint8Array | string): Promise<number> {
  const handle = await fs.promises.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

async function modelArtifacts(
  model: LayersModel,
): Promise<{ topology: unknown; specs: WeightSpec[]; data: ArrayBuffer }> {
  let captured: { topology: unknown; specs: WeightSpec[]; data: ArrayBuffer } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ?? new ArrayBuffer(0);
      captured = {
        topology: artifacts.modelTopology,
        specs: (artifacts.weightSpecs ?? []) as WeightSpec[],
        data: tf.io.CompositeArrayBuffer.join(weightData),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new Error(`Checkpoint: model "${model.name}" produced no artifacts to save.`);
  return captured;
}

function checkpointSteps(dir: string): Array<{ step: number; name: string }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => ({ name, match: CHECKPOINT_NAME.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map((entry) => ({ step: Number(entry.match[1]), name: entry.name }))
    .sort((a, b) => b.step - a.step);
}

/** Throws a learner-readable error for unusable checkpoint options. */
export function validateCheckpointOptions(options: CheckpointOptions, caller: string): void {
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new Error(`${caller}: options.checkpoint.dir must be a folder path; got ${JSON.stringify(options.dir)}.`);
  }
  if (!Number.isInteger(options.every) || options.every < 1) {
    throw new Error(`${caller}: options.checkpoint.every must be a whole number >= 1; got ${options.every}.`);
  }
}

/** Writes a checkpoint for `step` atomically and prunes old ones. Returns its folder. */
export async function saveCheckpoint(
  step: number,
  contents: CheckpointContents,
  options: CheckpointOptions,
): Promise<string> {
  const dir = path.resolve(options.dir);
  await fs.promises.mkdir(dir, { recursive: true });
  const tempDir = path.join(dir, `.tmp-ckpt-${step}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  await fs.promises.mkdir(tempDir);
  const files: Record<string, number> = {};
  try {
    for (const [name, model] of Object.entries(contents.models)) {
      const artifacts = await modelArtifacts(model);
      await fs.promises.mkdir(path.join(tempDir, name));
      files[`${name}/weights.bin`] = await writeFileSynced(
        path.join(tempDir, name, 'weights.bin'),
        new Uint8Array(artifacts.data),
      );
      const modelJson = {
        format: 'layers-model',
        generatedBy: 'gan-notebooks-ts checkpoint',
        modelTopology: artifacts.topology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.specs }],
      };
      files[`${name}/model.json`] = await writeFileSynced(
        path.join(tempDir, name, 'model.json'),
        JSON.stringify(modelJson),
      );
    }
    if (options.onSaving) await options.onSaving({ step, tempDir });
    const optimizers: Manifest['optimizers'] = {};
    await fs.promises.mkdir(path.join(tempDir, 'optimizers'));
    for (const [name, optimizer] of Object.entries(contents.optimizers)) {
      if (!optimizer) continue;
      const named = await optimizer.getWeights();
      const powers = adamPowers(optimizer);
      for (const key of ADAM_POWERS) {
        const power = powers[key];
        if (power instanceof tf.Variable) named.push({ name: `${ADAM_POWER_PREFIX}${key}`, tensor: power });
      }
      try {
        const { data, specs } = await tf.io.encodeWeights(named);
        files[`optimizers/${name}.bin`] = await writeFileSynced(
          path.join(tempDir, 'optimizers', `${name}.bin`),
          new Uint8Array(data),
        );
        optimizers[name] = { className: optimizer.getClassName(), specs: specs as WeightSpec[] };
      } finally {
        // getWeights returns the optimizer's own variables plus one new scalar (the step count).
        for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
      }
    }
    const manifest: Manifest = {
      format: FORMAT,
      version: VERSION,
      step,
      savedAt: new Date().toISOString(),
      models: Object.keys(contents.models),
      optimizers,
      files,
      state: contents.state,
    };
    await writeFileSynced(path.join(tempDir, 'manifest.json'), JSON.stringify(manifest));
    const finalDir = path.join(dir, `ckpt-${step}`);
    if (fs.existsSync(finalDir)) await discard(dir, finalDir);
    await fs.promises.rename(tempDir, finalDir);
    await syncDirectory(dir);
    await prune(dir, options.keep ?? 2);
    return finalDir;
  } catch (error) {
    await fs.promises.rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await fs.promises.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  }
}

/** Renames a checkpoint out of the `ckpt-N` namespace first, so a half-deleted one is never loaded. */
async function discard(dir: string, checkpointDir: string): Promise<void> {
  const trash = path.join(
    dir,
    `.trash-${path.basename(checkpointDir)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
  );
  await fs.promises.rename(checkpointDir, trash);
  await fs.promises.rm(trash, { recursive: true, force: true });
}

async function prune(dir: string, keep: number): Promise<void> {
  const steps = checkpointSteps(dir);
  for (const old of steps.slice(Math.max(1, keep))) await discard(dir, path.join(dir, old.name));
}

function readManifest(checkpointDir: string): Manifest | undefined {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(checkpointDir, 'manifest.json'), 'utf8')) as Manifest;
    if (manifest.format !== FORMAT || manifest.version !== VERSION) return undefined;
    for (const [file, size] of Object.entries(manifest.files)) {
      if (fs.statSync(path.join(checkpointDir, file)).size !== size) return undefined;
    }
    return manifest;
  } catch {
    return undefined;
  }
}

/**
 * The newest complete checkpoint in `dir`, or undefined. Deletes leftover temporary folders
 * (from runs killed mid-save) and ignores folders whose manifest or files are incomplete.
 */
export function findLatestCheckpoint(dir: string): { path: string; step: number } | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.tmp-ckpt-') || name.startsWith('.trash-'))
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  for (const { name, step } of checkpointSteps(dir)) {
    const checkpointDir = path.join(dir, name);
    const manifest = readManifest(checkpointDir);
    if (manifest && manifest.step === step) return { path: checkpointDir, step };
  }
  return undefined;
}

/** Where a resumed loop starts: the run's seed, its history so far, and the next step. */
export interface ResumePoint<History> {
  seed: number;
  history: History;
  step: number;
}

/**
 * For the training loops: with `resume` set, loads the newest complete checkpoint in `options.dir`
 * into the models and optimizers and says where to carry on; undefined to start from scratch
 * (no `resume`, or nothing saved yet). The loop saved `seed` and `history` in the state.
 */
export async function resumeFromLatest<History>(
  options: CheckpointOptions | undefined,
  contents: Omit<CheckpointContents, 'state'>,
): Promise<ResumePoint<History> | undefined> {
  if (!options?.resume) return undefined;
  const latest = findLatestCheckpoint(options.dir);
  if (!latest) return undefined;
  const loaded = await loadCheckpoint(latest.path, contents);
  return { seed: loaded.state.seed as number, history: loaded.state.history as History, step: loaded.step };
}

/** Loads a checkpoint's weights and optimizer state into existing (same-architecture) models. */
export async function loadCheckpoint(
  checkpointDir: string,
  contents: Omit<CheckpointContents, 'state'>,
): Promise<LoadedCheckpoint> {
  const manifest = readManifest(checkpointDir);
  if (!manifest) {
    throw new Error(
      `Checkpoint ${checkpointDir} is incomplete or not a checkpoint ` +
        `(manifest.json missing, unreadable or with wrong file sizes); delete it or resume from another.`,
    );
  }
  for (const [name, model] of Object.entries(contents.models)) {
    const modelJson = JSON.parse(fs.readFileSync(path.join(checkpointDir, name, 'model.json'), 'utf8')) as {
      weightsManifest: Array<{ weights: WeightSpec[] }>;
    };
    const specs = modelJson.weightsManifest[0].weights;
    const data = fs.readFileSync(path.join(checkpointDir, name, 'weights.bin'));
    const decoded = tf.io.decodeWeights(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      specs as Parameters<typeof tf.io.decodeWeights>[1],
    );
    try {
      // tfjs saves weights in `model.weights` order; names carry per-process counters, so match by position.
      if (specs.length !== model.weights.length) {
        throw new Error(
          `Checkpoint ${checkpointDir}: model "${name}" has ${model.weights.length} weight tensors ` +
            `but the checkpoint has ${specs.length}; it was saved from a different architecture.`,
        );
      }
      model.weights.forEach((weight, i) => {
        if (weight.shape.join('x') !== specs[i].shape.join('x')) {
          throw new Error(
            `Checkpoint ${checkpointDir}: model "${name}" weight ${i} (${weight.originalName}) ` +
              `has shape [${weight.shape}] but the checkpoint has [${specs[i].shape}].`,
          );
        }
      });
      model.setWeights(specs.map((spec) => decoded[spec.name]));
    } finally {
      tf.dispose(Object.values(decoded));
    }
  }
  for (const [name, optimizer] of Object.entries(contents.optimizers)) {
    const saved = manifest.optimizers[name];
    if (!optimizer || !saved) continue;
    if (saved.className !== optimizer.getClassName()) {
      throw new Error(
        `Checkpoint ${checkpointDir}: optimizer "${name}" was ${saved.className} ` +
          `but is now ${optimizer.getClassName()}.`,
      );
    }
    const data = fs.readFileSync(path.join(checkpointDir, 'optimizers', `${name}.bin`));
    const decoded = tf.io.decodeWeights(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      saved.specs as Parameters<typeof tf.io.decodeWeights>[1],
    );
    try {
      const own = saved.specs.filter((spec) => !spec.name.startsWith(ADAM_POWER_PREFIX));
      await optimizer.setWeights(own.map((spec) => ({ name: spec.name, tensor: decoded[spec.name] })));
      const powers = adamPowers(optimizer);
      for (const key of ADAM_POWERS) {
        const savedPower = decoded[`${ADAM_POWER_PREFIX}${key}`];
        if (savedPower) powers[key]?.assign(savedPower);
      }
    } finally {
      tf.dispose(Object.values(decoded));
    }
  }
  return { path: checkpointDir, step: manifest.step, state: manifest.state };
}
