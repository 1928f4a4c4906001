/**
 * Checkpoints: models, optimizer state and training state in a save folder of persist.ts per
 * step, `<dir>/ckpt-<step>/`, so a run killed at any moment can resume from its last complete one:
 * each model in tfjs's format (`<model>/model.json` + `weights.bin`), each optimizer's
 * getWeights() in `optimizers/<name>.bin` (Adam: step count and moments; Adadelta: its
 * accumulators), and the manifest (step, training state such as history and seed). A
 * `ckpt-<step>` folder only ever appears whole; finding the latest re-checks it and deletes leftovers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, Optimizer, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import * as persist from '../persist';

const FORMAT = 'gan-notebooks-checkpoint';
const CHECKPOINT_NAME = /^ckpt-(\d+)$/;

/**
 * tfjs's Adam keeps beta1^t and beta2^t as running products (accBeta1, accBeta2: private, not in
 * getWeights), and its setWeights recomputes them with pow(), which can differ in the last bit;
 * a GAN then drifts from the uninterrupted run by about 1e-4 within a few steps. They are saved
 * in the manifest, and put back exactly after setWeights.
 */
function adamPowers(optimizer: Optimizer): Record<string, Variable> {
  if (optimizer.getClassName() !== 'Adam') return {};
  const { accBeta1, accBeta2 } = optimizer as unknown as Record<string, Variable>;
  return { accBeta1, accBeta2 };
}

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
  /** Optimizers by name; undefined ones are skipped. */
  optimizers: Record<string, Optimizer | undefined>;
  /** JSON-serialisable training state (history, seed, ...). */
  state: Record<string, unknown>;
}

interface CheckpointManifest extends persist.SaveManifest {
  step: number;
  optimizers: Record<
    string,
    { className: string; specs: tf.io.WeightsManifestEntry[]; adamPowers: Record<string, number> }
  >;
  state: Record<string, unknown>;
}

function checkpointSteps(dir: string): Array<{ step: number; name: string }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .flatMap((name) => {
      const match = CHECKPOINT_NAME.exec(name);
      return match ? [{ step: Number(match[1]), name }] : [];
    })
    .sort((a, b) => b.step - a.step);
}

/** Writes a checkpoint for `step` atomically and prunes old ones. Returns its folder. */
export async function saveCheckpoint(
  step: number,
  contents: CheckpointContents,
  options: CheckpointOptions,
): Promise<string> {
  const dir = path.resolve(options.dir);
  const saved = await persist.writeSaveFolder(path.join(dir, `ckpt-${step}`), FORMAT, async (temp) => {
    for (const [name, model] of Object.entries(contents.models)) await persist.writeModel(temp, name, model);
    if (options.onSaving) await options.onSaving({ step, tempDir: temp });
    const optimizers: CheckpointManifest['optimizers'] = {};
    for (const [name, optimizer] of Object.entries(contents.optimizers)) {
      if (!optimizer) continue;
      const named = await optimizer.getWeights();
      try {
        const specs = await persist.writeWeights(path.join(temp, 'optimizers', `${name}.bin`), named);
        const powers = Object.entries(adamPowers(optimizer)).map(([key, power]) => [key, power.dataSync()[0]]);
        optimizers[name] = { className: optimizer.getClassName(), specs, adamPowers: Object.fromEntries(powers) };
      } finally {
        // getWeights returns the optimizer's own variables plus one new scalar (the step count).
        for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
      }
    }
    return { step, optimizers, state: contents.state };
  });
  const keep = Math.max(1, options.keep ?? 2);
  for (const old of checkpointSteps(dir).slice(keep)) {
    // A half-deleted one has files missing, so findLatestCheckpoint skips it.
    await fs.promises.rm(path.join(dir, old.name), { recursive: true, force: true });
  }
  return saved;
}

/**
 * The newest complete checkpoint in `dir`, or undefined. Deletes leftover temporary folders
 * (from runs killed mid-save) and skips folders whose manifest or files are incomplete.
 */
export function findLatestCheckpoint(dir: string): { path: string; step: number } | undefined {
  persist.removeLeftovers(dir);
  for (const { name, step } of checkpointSteps(dir)) {
    const checkpointDir = path.join(dir, name);
    try {
      if (persist.readSaveFolder<CheckpointManifest>(checkpointDir, FORMAT, Error).step === step) {
        return { path: checkpointDir, step };
      }
    } catch {
      // incomplete or damaged: an older one may do
    }
  }
  return undefined;
}

/**
 * A training loop's checkpoints (`caller` names the loop in errors): `resumed`, with `options.resume`
 * and a complete checkpoint in `options.dir`, is where the loop carries on (its saved seed and
 * history and the next step), the models and optimizers loaded; `save(step, state)` writes one
 * when `step` is a multiple of `options.every` (after `sync`, which brings the models up to date).
 * The loop saves `seed` and `history` in the state. Without options, nothing is resumed or saved.
 */
export async function loopCheckpoints<History>(
  caller: string,
  options: CheckpointOptions | undefined,
  contents: Omit<CheckpointContents, 'state'>,
  sync: () => void,
): Promise<{
  resumed?: { seed: number; history: History; step: number };
  save: (step: number, state: Record<string, unknown>) => Promise<void>;
}> {
  if (!options) return { save: async () => undefined };
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new Error(`${caller}: options.checkpoint.dir must be a folder path; got ${JSON.stringify(options.dir)}.`);
  }
  if (!Number.isInteger(options.every) || options.every < 1) {
    throw new Error(`${caller}: options.checkpoint.every must be a whole number >= 1; got ${options.every}.`);
  }
  const save = async (step: number, state: Record<string, unknown>) => {
    if (step % options.every !== 0) return;
    sync();
    await saveCheckpoint(step, { ...contents, state }, options);
  };
  const latest = options.resume ? findLatestCheckpoint(options.dir) : undefined;
  if (!latest) return { save };
  const loaded = await loadCheckpoint(latest.path, contents);
  const resumed = { seed: loaded.state.seed as number, history: loaded.state.history as History, step: loaded.step };
  return { resumed, save };
}

/**
 * Loads a checkpoint's weights and optimizer state into existing (same-architecture) models.
 * Throws an error naming the file and what differs; the models' weights change only when all fit.
 */
export async function loadCheckpoint(
  checkpointDir: string,
  contents: Omit<CheckpointContents, 'state'>,
): Promise<{ path: string; step: number; state: Record<string, unknown> }> {
  const problem = (text: string) => new Error(`Checkpoint ${checkpointDir}: ${text}`);
  const manifest = persist.readSaveFolder<CheckpointManifest>(checkpointDir, FORMAT, problem);
  persist.loadModels(checkpointDir, contents.models, problem, () => {
    for (const [name, optimizer] of Object.entries(contents.optimizers)) {
      const saved = manifest.optimizers[name];
      if (optimizer && saved && saved.className !== optimizer.getClassName()) {
        throw problem(`optimizer "${name}" was ${saved.className} but is now ${optimizer.getClassName()}.`);
      }
    }
  });
  for (const [name, optimizer] of Object.entries(contents.optimizers)) {
    const saved = manifest.optimizers[name];
    if (!optimizer || !saved) continue;
    const decoded = persist.readWeights(path.join(checkpointDir, 'optimizers', `${name}.bin`), saved.specs, problem);
    try {
      await optimizer.setWeights(saved.specs.map((spec) => ({ name: spec.name, tensor: decoded[spec.name] })));
    } finally {
      tf.dispose(Object.values(decoded));
    }
    const powers = adamPowers(optimizer);
    for (const [key, value] of Object.entries(saved.adamPowers)) tf.tidy(() => powers[key]?.assign(tf.scalar(value)));
  }
  return { path: checkpointDir, step: manifest.step, state: manifest.state };
}
