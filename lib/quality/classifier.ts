/**
 * The digit classifier behind the quality score: a small CNN the library trains itself, once,
 * on the shipped MNIST data (the embedded test set's fixed 8,000 / 2,000 split), and keeps
 * under build/quality/. Later runs load it; a cache that is missing, damaged (unreadable files,
 * wrong sizes, weights that no longer give the recorded accuracy) or made with other settings
 * is trained again.
 *
 * It trains with `fit`, as the chapters' autoencoders do: a few seconds on two cores, once, for
 * 97-98% held-out accuracy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { toImageTensor } from '../data/batches';
import { loadEmbeddedTestSet, splitEmbedded, type MnistSplit } from '../data/mnist';
import { kernelInitializers } from '../models/initializers';
import { fit } from '../train/fit';
import type { MonitorView } from '../train/monitor';
import { loadTrainedModels, saveTrainedModels } from '../train/saved';
import { REPO_ROOT, shown } from '../persist';

/** How the classifier is trained; a cache made with other settings is not used. */
const DEFAULT_SETTINGS = {
  /** Seed of the initial weights and of the batch order. */
  seed: 20240615,
  epochs: 6,
  batchSize: 64,
  learningRate: 0.002,
  /** How many of the 8,000 training images to use (all by default; tests use fewer). */
  trainCount: 8000,
};
type DigitClassifierSettings = typeof DEFAULT_SETTINGS;

export interface DigitClassifierOptions extends Partial<Pick<DigitClassifierSettings, 'epochs' | 'trainCount'>> {
  /** The cache folder. Default build/quality/digit-classifier. */
  dir?: string;
  /** Where training's progress shows (see TrainingMonitor): a view, true for the default bar. Default false. */
  progress?: MonitorView | boolean;
}

export interface DigitClassifier {
  /** Images [n, 28, 28, 1] in [0, 1] -> probabilities of the ten digits. */
  model: LayersModel;
  /** Share of the held-out images it labels correctly. */
  accuracy: number;
  /** How many held-out images `accuracy` was measured on. */
  heldOutCount: number;
  /** 'trained': trained by this call; 'cache': loaded from its folder. */
  source: 'trained' | 'cache';
  /** Seconds the training took (this call's, or the recorded one for a cache). */
  trainingSeconds: number;
  /** Why it was trained rather than loaded (empty when loaded). */
  retrainReason: string;
  /** One line for a notebook to print: accuracy, where it came from, training time. */
  summary: string;
}

/** What the cache's manifest keeps beside the settings (its `extras`). */
type CacheInfo = Pick<DigitClassifier, 'accuracy' | 'heldOutCount' | 'trainingSeconds'>;

/** The classifier's layers: two convolution + pooling stages, then a small dense head. */
export function buildDigitClassifierModel(seed: number, learningRate: number): LayersModel {
  const kernel = kernelInitializers(seed);
  const model = tf.sequential({
    name: 'digit_classifier',
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 5,
        activation: 'relu',
        kernelInitializer: kernel(),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 5, activation: 'relu', kernelInitializer: kernel() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: kernel() }),
      tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: kernel() }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

function resolveSettings(options: DigitClassifierOptions): DigitClassifierSettings {
  const settings = { ...DEFAULT_SETTINGS };
  for (const key of ['epochs', 'trainCount'] as const) {
    settings[key] = options[key] ?? DEFAULT_SETTINGS[key];
    if (!Number.isInteger(settings[key]) || settings[key] < 1)
      throw new Error(`digitClassifier: options.${key} must be a whole number >= 1; got ${settings[key]}.`);
  }
  return settings;
}

/** Share of `split`'s images the model labels correctly (predicted in batches of 500, no tensor left). */
export function classifierAccuracy(model: LayersModel, split: MnistSplit): number {
  const predicted = tf.tidy(() => {
    const images = toImageTensor(split, { range: 'unit' });
    return (model.predict(images, { batchSize: 500 }) as Tensor).argMax(-1).dataSync();
  });
  return predicted.filter((digit, i) => digit === split.labels[i]).length / split.count;
}

/** Trains a new classifier with `fit` on the first `trainCount` training images (seeded: weights, batch order). */
async function train(
  settings: DigitClassifierSettings,
  data: { train: MnistSplit; test: MnistSplit },
  progress: MonitorView | boolean,
): Promise<{ model: LayersModel; seconds: number }> {
  const started = Date.now();
  const model = buildDigitClassifierModel(settings.seed, settings.learningRate);
  const indices = Int32Array.from({ length: Math.min(settings.trainCount, data.train.count) }, (_, i) => i);
  const images = toImageTensor(data.train, { range: 'unit', indices });
  const digits = tf.tensor1d(data.train.labels.subarray(0, indices.length), 'int32');
  const labels = tf.tidy(() => tf.oneHot(digits, 10).toFloat());
  try {
    const { epochs, batchSize, seed } = settings;
    await fit(model, images, { target: labels, epochs, batchSize, seed, progress });
  } finally {
    tf.dispose([images, digits, labels]);
  }
  return { model, seconds: (Date.now() - started) / 1000 };
}

/** The cache: a save of train/saved.ts, `<dir>/manifest.json` + `<dir>/classifier/`. */
function cacheLocation(dir: string) {
  return { notebook: path.basename(dir), root: path.dirname(dir) };
}

/** The cache in `dir`, if it is whole, fits `settings` and gives its recorded accuracy; else why not. */
async function readCache(
  dir: string,
  settings: DigitClassifierSettings,
  heldOut: MnistSplit,
): Promise<{ model: LayersModel; info: CacheInfo } | { problem: string }> {
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) return { problem: `no cached classifier in ${shown(dir)}` };
  const model = buildDigitClassifierModel(settings.seed, settings.learningRate);
  try {
    const models = { classifier: model };
    const { manifest } = await loadTrainedModels({ ...cacheLocation(dir), models, settings: { ...settings } });
    const info = manifest.extras as unknown as CacheInfo;
    // Weights changed in place keep their size; the held-out accuracy would not stay the same.
    const accuracy = classifierAccuracy(model, heldOut);
    if (Math.abs(accuracy - info.accuracy) > 1e-9) {
      throw new Error(`held-out accuracy ${accuracy}, recorded ${info.accuracy} (the weights changed)`);
    }
    return { model, info };
  } catch (error) {
    model.optimizer.dispose();
    model.dispose();
    return { problem: (error as Error).message.split('\nTo fix it')[0].replace(/\n\s*/g, ' ') };
  }
}

const inProcess = new Map<string, Promise<DigitClassifier>>();

/** Forgets the classifiers loaded in this process, so the next call reads the cache again (tests). */
export function forgetLoadedDigitClassifiers(): void {
  inProcess.clear();
}

/**
 * The digit classifier: loaded from its cache, or trained (and cached) when the cache is
 * missing, damaged or made with other settings. Calls in one process with the same folder and
 * settings share one model; do not dispose it.
 */
export function digitClassifier(options: DigitClassifierOptions = {}): Promise<DigitClassifier> {
  const settings = resolveSettings(options);
  const dir = path.resolve(options.dir ?? path.join(REPO_ROOT, 'build', 'quality', 'digit-classifier'));
  const key = JSON.stringify([dir, settings]);
  const known = inProcess.get(key);
  if (known) return known;
  const loading = obtain(dir, settings, options.progress ?? false);
  inProcess.set(key, loading);
  loading.catch(() => inProcess.delete(key));
  return loading;
}

async function obtain(
  dir: string,
  settings: DigitClassifierSettings,
  progress: MonitorView | boolean,
): Promise<DigitClassifier> {
  const data = splitEmbedded(loadEmbeddedTestSet());
  const cached = await readCache(dir, settings, data.test);
  let found: Omit<DigitClassifier, 'summary'>;
  if ('model' in cached) {
    found = { model: cached.model, ...cached.info, source: 'cache', retrainReason: '' };
  } else {
    const { model, seconds } = await train(settings, data, progress);
    const info: CacheInfo = {
      accuracy: classifierAccuracy(model, data.test),
      heldOutCount: data.test.count,
      trainingSeconds: seconds,
    };
    await saveTrainedModels({
      ...cacheLocation(dir),
      models: { classifier: model },
      settings: { ...settings },
      dataSource: 'MNIST embedded test set, first 8,000 images',
      extras: info,
    })
      // Another process may have written the same classifier first; that copy is as good.
      .catch((error: unknown) => {
        if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw error;
      });
    found = { model, ...info, source: 'trained', retrainReason: cached.problem };
  }
  // It never trains again: its optimizer's state (Adam's step powers) goes, so only its weights stay.
  found.model.optimizer.dispose();
  const seconds = found.trainingSeconds.toFixed(1);
  const origin =
    found.source === 'cache'
      ? `loaded from ${shown(dir)}; it trained in ${seconds} s`
      : `trained now in ${seconds} s, saved in ${shown(dir)}`;
  const images = Math.min(settings.trainCount, data.train.count).toLocaleString('en-US');
  const summary =
    `digit classifier: held-out accuracy ${(100 * found.accuracy).toFixed(2)}% ` +
    `on ${found.heldOutCount.toLocaleString('en-US')} test digits (${origin}, on ${images} images)`;
  return { ...found, summary };
}
