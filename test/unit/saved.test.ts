/**
 * Saved models (train/saved.ts): a save loaded into freshly built models predicts exactly as
 * the trained ones did; missing, damaged and mismatched saves throw errors that name the file
 * and the difference, and leave every model as it was; a failed save keeps the previous one.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTrainedModels, saveTrainedModels, tf, trainOrLoad } from '../../lib';
import { savedModelsRoot, SavedModelsError } from '../../lib/train';

type LayersModelLike = tf.LayersModel;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'saved-models-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const SETTINGS = { epochs: 3, learningRate: 0.001, config: { zDim: 2, filters: [4, 8] } };
const DATA = 'MNIST embedded test set (8000 train images)';

/** An encoder (with BatchNorm, so non-trainable weights too), a decoder and the model of both, like notebook 04. */
function buildModels(seed: number, hidden = 6) {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  const encoder = tf.sequential({
    name: 'encoder',
    layers: [
      tf.layers.dense({ inputShape: [5], units: hidden, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 2, kernelInitializer: init(2) }),
    ],
  });
  const decoder = tf.sequential({
    name: 'decoder',
    layers: [tf.layers.dense({ inputShape: [2], units: 5, activation: 'sigmoid', kernelInitializer: init(3) })],
  });
  const input = tf.input({ shape: [5] });
  const model = tf.model({
    name: 'autoencoder',
    inputs: input,
    outputs: decoder.apply(encoder.apply(input)) as tf.SymbolicTensor,
  });
  return { encoder, decoder, model };
}

function dispose(models: { model: LayersModelLike }): void {
  models.model.dispose();
}

/** Trains a few steps so the BatchNorm statistics and weights differ from any fresh model's. */
async function trained() {
  const models = buildModels(1);
  models.model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const x = tf.randomUniform([32, 5], 0, 1, 'float32', 3);
  await models.model.fit(x, x, { epochs: 3, batchSize: 8, verbose: 0 });
  x.dispose();
  return models;
}

function predict(model: LayersModelLike, input: tf.Tensor): Float32Array {
  const output = model.predict(input) as tf.Tensor;
  const values = output.dataSync() as Float32Array;
  output.dispose();
  return values;
}

const probe = tf.randomUniform([7, 5], 0, 1, 'float32', 11);
const probeCodes = tf.randomNormal([4, 2], 0, 1, 'float32', 12);
let saveDir: string;
let expected: { code: Float32Array; image: Float32Array; whole: Float32Array };

/** A copy of the good save under a new root, to damage. */
function copyOfSave(label: string): string {
  const copyRoot = path.join(root, label);
  fs.cpSync(saveDir, path.join(copyRoot, 'demo'), { recursive: true });
  return copyRoot;
}

/** Loads into fresh models; asserts it throws `pattern`, that no model changed, and that no tensor leaked. */
async function assertLoadFails(
  copyRoot: string,
  pattern: RegExp,
  change: { settings?: object; hidden?: number; dataSource?: string } = {},
): Promise<SavedModelsError> {
  const fresh = buildModels(99, change.hidden);
  const before = { code: predict(fresh.encoder, probe), image: predict(fresh.decoder, probeCodes) };
  const tensors = tf.memory().numTensors;
  let caught: unknown;
  try {
    await loadTrainedModels({
      notebook: 'demo',
      root: copyRoot,
      models: { encoder: fresh.encoder, decoder: fresh.decoder },
      settings: (change.settings ?? SETTINGS) as typeof SETTINGS,
      dataSource: change.dataSource ?? DATA,
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SavedModelsError, `expected a SavedModelsError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  assert.match(caught.message, /reuseTrained = false/, 'the message says how to retrain');
  assert.equal(tf.memory().numTensors, tensors, 'a failed load leaves no tensors');
  assert.deepEqual(predict(fresh.encoder, probe), before.code, 'the encoder is untouched: no partial load');
  assert.deepEqual(predict(fresh.decoder, probeCodes), before.image, 'the decoder is untouched');
  dispose(fresh);
  return caught;
}

describe('saved models', () => {
  before(async () => {
    const models = await trained();
    expected = {
      code: predict(models.encoder, probe),
      image: predict(models.decoder, probeCodes),
      whole: predict(models.model, probe),
    };
    saveDir = await saveTrainedModels({
      notebook: 'demo',
      root,
      models: { encoder: models.encoder, decoder: models.decoder },
      settings: SETTINGS,
      dataSource: DATA,
      finalLosses: { loss: 0.0421, val_loss: 0.0433 },
      extras: { history: { epoch: [0, 1, 2], loss: [0.3, 0.1, 0.0421], accuracy: undefined } },
    });
    models.model.optimizer?.dispose();
    dispose(models);
  });

  it('writes tfjs model folders and a manifest with settings, data, losses, date, version and architecture', () => {
    assert.equal(saveDir, path.join(root, 'demo'));
    assert.deepEqual(fs.readdirSync(root), ['demo'], 'no temporary folder is left');
    assert.deepEqual(fs.readdirSync(saveDir).sort(), ['decoder', 'encoder', 'manifest.json']);
    assert.deepEqual(fs.readdirSync(path.join(saveDir, 'encoder')).sort(), ['model.json', 'weights.bin']);
    const manifest = JSON.parse(fs.readFileSync(path.join(saveDir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.settings, SETTINGS);
    assert.equal(manifest.dataSource, DATA);
    assert.deepEqual(manifest.finalLosses, { loss: 0.0421, val_loss: 0.0433 });
    assert.ok(Math.abs(Date.parse(manifest.savedAt) - Date.now()) < 60_000, `savedAt ${manifest.savedAt}`);
    const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    assert.equal(manifest.libraryVersion, `${packageJson.name}@${packageJson.version}`);
    // dense 5*6+6, BatchNorm 4*6 (2 of them non-trainable), dense 6*2+2
    assert.deepEqual(
      manifest.models.encoder.layers.map((layer: { className: string; params: number }) => [
        layer.className,
        layer.params,
      ]),
      [
        ['Dense', 36],
        ['BatchNormalization', 24],
        ['Dense', 14],
      ],
    );
    assert.equal(manifest.models.encoder.params, 74);
    assert.equal(manifest.models.decoder.layers[0].outputShape, '[null,5]');
  });

  it('fresh models (other initial weights) load and predict exactly as the trained ones, leaking nothing', async () => {
    const fresh = buildModels(42);
    assert.notDeepEqual(predict(fresh.encoder, probe), expected.code, 'the fresh encoder starts different');
    const tensors = tf.memory().numTensors;
    const loaded = await loadTrainedModels({
      notebook: 'demo',
      root,
      models: { encoder: fresh.encoder, decoder: fresh.decoder },
      settings: { config: { filters: [4, 8], zDim: 2 }, learningRate: 0.001, epochs: 3 }, // key order does not matter
      dataSource: DATA,
    });
    assert.equal(tf.memory().numTensors, tensors, 'loading leaves no tensors behind');
    assert.deepEqual(predict(fresh.encoder, probe), expected.code);
    assert.deepEqual(predict(fresh.decoder, probeCodes), expected.image);
    assert.deepEqual(
      predict(fresh.model, probe),
      expected.whole,
      'the model built from both shares the loaded weights',
    );
    assert.equal(loaded.dir, saveDir);
    assert.equal(loaded.manifest.finalLosses.loss, 0.0421);
    assert.deepEqual(
      loaded.manifest.extras,
      { history: { epoch: [0, 1, 2], loss: [0.3, 0.1, 0.0421] } },
      'extras come back, undefined properties left out',
    );
    dispose(fresh);
  });

  it("is tfjs's own format: tf.loadLayersModel reads a saved model and predicts the same", async () => {
    const model = await tf.loadLayersModel(`file://${path.join(saveDir, 'encoder', 'model.json')}`);
    assert.deepEqual(predict(model, probe), expected.code);
    model.dispose();
  });

  it('missing: names the manifest it looked for', async () => {
    const error = await assertLoadFails(
      path.join(root, 'nothing-here'),
      /nothing-here\/demo\/manifest\.json does not exist: nothing was saved yet/,
    );
    assert.match(error.message, /npm run notebooks -- --only demo --set reuseTrained=false/);
  });

  it('damaged: a truncated weights file of the second model is found before the first model changes', async () => {
    const copyRoot = copyOfSave('truncated');
    const weights = path.join(copyRoot, 'demo', 'decoder', 'weights.bin');
    const size = fs.statSync(weights).size;
    fs.truncateSync(weights, size - 8);
    await assertLoadFails(
      copyRoot,
      new RegExp(
        `decoder/weights\\.bin holds ${size - 8} bytes, but .*demo/manifest\\.json ` +
          `records ${size} bytes: the save is damaged`,
      ),
    );
  });

  it('damaged: invalid JSON in the manifest or in a model.json', async () => {
    const badManifest = copyOfSave('bad-manifest');
    fs.writeFileSync(path.join(badManifest, 'demo', 'manifest.json'), '{"format": "gan-notebooks-saved-models", ');
    await assertLoadFails(badManifest, /bad-manifest\/demo\/manifest\.json \(the manifest\) is not valid JSON/);
    const oldManifest = copyOfSave('old-version');
    const manifestFile = path.join(oldManifest, 'demo', 'manifest.json');
    fs.writeFileSync(
      manifestFile,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, 'utf8')), version: 1 }),
    );
    await assertLoadFails(
      oldManifest,
      /old-version\/demo\/manifest\.json has format version 1; this library reads version 2/,
    );
    const badModel = copyOfSave('bad-model-json');
    const modelJson = path.join(badModel, 'demo', 'decoder', 'model.json');
    // The size the manifest records, so that only reading the JSON finds the damage.
    fs.writeFileSync(modelJson, 'not json'.padEnd(fs.statSync(modelJson).size));
    await assertLoadFails(badModel, /bad-model-json\/demo\/decoder\/model\.json \(model "decoder"\) is not valid JSON/);
    const noWeights = copyOfSave('no-weights');
    fs.rmSync(path.join(noWeights, 'demo', 'encoder', 'weights.bin'));
    await assertLoadFails(
      noWeights,
      /no-weights\/demo\/encoder\/weights\.bin is missing, but .*manifest\.json records \d+ bytes/,
    );
  });

  it('mismatched: another layer size names the model, the layer and both shapes', async () => {
    await assertLoadFails(
      root,
      new RegExp(
        'model "encoder" in .*demo/encoder has another architecture[^]*' +
          'layer 0: Dense \\[null,6\\], 36 parameters saved, Dense \\[null,9\\], 54 parameters now',
      ),
      { hidden: 9 },
    );
  });

  it('mismatched: other settings and another data source are listed with both values', async () => {
    await assertLoadFails(
      root,
      /the settings differ[^]*epochs: 3 in the save, 30 now[^]*seed: not in the save, 7 now/,
      { settings: { ...SETTINGS, epochs: 30, seed: 7 } },
    );
    await assertLoadFails(
      root,
      /config: \{"filters":\[4,8\],"zDim":2\} in the save, \{"filters":\[4,8\],"zDim":3\} now/,
      { settings: { ...SETTINGS, config: { zDim: 3, filters: [4, 8] } } },
    );
    await assertLoadFails(
      root,
      /trained on "MNIST embedded test set \(8000 train images\)".*but the data now is "MNIST full"/,
      { dataSource: 'MNIST full' },
    );
  });

  it('a save that fails half way leaves the previous save whole and no temporary folder', async () => {
    const copyRoot = copyOfSave('failed-save');
    const models = buildModels(5);
    const broken = {
      ...models.decoder,
      layers: models.decoder.layers,
      countParams: () => 0,
      save: async () => {
        throw new Error('disk full');
      },
    };
    await assert.rejects(
      saveTrainedModels({
        notebook: 'demo',
        root: copyRoot,
        settings: { epochs: 1 },
        dataSource: DATA,
        models: { encoder: models.encoder, decoder: broken as unknown as LayersModelLike },
      }),
      /disk full/,
    );
    assert.deepEqual(fs.readdirSync(copyRoot), ['demo']);
    const fresh = buildModels(8);
    await loadTrainedModels({
      notebook: 'demo',
      root: copyRoot,
      models: { encoder: fresh.encoder, decoder: fresh.decoder },
      settings: SETTINGS,
    });
    assert.deepEqual(predict(fresh.encoder, probe), expected.code, 'the old save still loads');
    dispose(fresh);
    dispose(models);
  });

  it('a second save replaces the first and removes leftovers; bad names and settings are refused', async () => {
    const copyRoot = copyOfSave('resave');
    // What a save killed half way leaves (PID 2^22 + 1 is above Linux's pid_max): the next save removes it.
    fs.mkdirSync(path.join(copyRoot, `.tmp-demo-${2 ** 22 + 1}-abcd1234`));
    const models = buildModels(6);
    await saveTrainedModels({
      notebook: 'demo',
      root: copyRoot,
      models: { encoder: models.encoder },
      settings: { epochs: 1 },
      dataSource: DATA,
    });
    assert.deepEqual(fs.readdirSync(copyRoot), ['demo']);
    assert.deepEqual(fs.readdirSync(path.join(copyRoot, 'demo')).sort(), ['encoder', 'manifest.json']);
    await assert.rejects(
      saveTrainedModels({
        notebook: '../escape',
        root: copyRoot,
        models: { encoder: models.encoder },
        settings: {},
        dataSource: DATA,
      }),
      /notebook must be a plain name/,
    );
    await assert.rejects(
      saveTrainedModels({
        notebook: 'demo',
        root: copyRoot,
        models: { 'a/b': models.encoder },
        settings: {},
        dataSource: DATA,
      }),
      /cannot be a folder name/,
    );
    await assert.rejects(
      saveTrainedModels({
        notebook: 'demo',
        root: copyRoot,
        models: { encoder: models.encoder },
        settings: { rate: Number.NaN },
        dataSource: DATA,
      }),
      /settings\.rate \(NaN\) is not plain JSON/,
    );
    await assert.rejects(
      saveTrainedModels({
        notebook: 'demo',
        root: copyRoot,
        models: { encoder: models.encoder },
        settings: { config: { filters: [1, undefined] } },
        dataSource: DATA,
      }),
      /settings\.config\.filters\[1\] \(undefined\) is not plain JSON/,
    );
    await assert.rejects(
      saveTrainedModels({
        notebook: 'demo',
        root: copyRoot,
        models: { encoder: models.encoder },
        settings: {},
        extras: { when: new Date() },
        dataSource: DATA,
      }),
      /extras\.when \(a Date object\) is not plain JSON/,
    );
    await assert.rejects(
      saveTrainedModels({
        notebook: 'demo',
        root: copyRoot,
        models: { encoder: models.encoder },
        settings: {},
        dataSource: DATA,
        finalLosses: { loss: Infinity },
      }),
      /finalLosses\.loss must be a finite number/,
    );
    assert.deepEqual(fs.readdirSync(copyRoot), ['demo']);
    dispose(models);
  });

  it('the default root is build/models, or GAN_NOTEBOOKS_MODELS_DIR when set', () => {
    const previous = process.env.GAN_NOTEBOOKS_MODELS_DIR;
    try {
      delete process.env.GAN_NOTEBOOKS_MODELS_DIR;
      assert.equal(savedModelsRoot(), path.resolve(__dirname, '..', '..', 'build', 'models'));
      process.env.GAN_NOTEBOOKS_MODELS_DIR = root;
      assert.equal(savedModelsRoot(), root);
    } finally {
      if (previous === undefined) delete process.env.GAN_NOTEBOOKS_MODELS_DIR;
      else process.env.GAN_NOTEBOOKS_MODELS_DIR = previous;
    }
  });

  it('trainOrLoad: trains and saves with the history, then loads instead and returns the same history', async (t) => {
    const trainRoot = path.join(root, 'train-or-load');
    const lines: string[] = [];
    t.mock.method(console, 'log', (line: string) => lines.push(line));
    let trainings = 0;
    const history = { epoch: [0, 1], loss: [0.5, 0.25], valLoss: [0.6, 0.3] };
    const first = buildModels(3);
    const options = {
      notebook: 'demo',
      models: { encoder: first.encoder, decoder: first.decoder },
      settings: SETTINGS,
      dataSource: DATA,
      root: trainRoot,
      train: async () => {
        trainings++;
        return history;
      },
    };
    assert.deepEqual(await trainOrLoad({ ...options, reuse: false }), history);
    assert.equal(trainings, 1);
    const manifest = JSON.parse(fs.readFileSync(path.join(trainRoot, 'demo', 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.finalLosses, { loss: 0.25, valLoss: 0.3 }, 'the last values, without the epoch counter');
    assert.match(
      lines[0],
      /^saved encoder and decoder to .*train-or-load\/demo \(reuseTrained = true loads them next time\)$/,
    );

    const fresh = buildModels(77);
    const loaded = await trainOrLoad({
      ...options,
      models: { encoder: fresh.encoder, decoder: fresh.decoder },
      reuse: true,
    });
    assert.equal(trainings, 1, 'reuse does not train');
    assert.deepEqual(loaded, history);
    assert.deepEqual(predict(fresh.encoder, probe), predict(first.encoder, probe));
    assert.match(
      lines[1],
      /^loaded encoder and decoder from .*train-or-load\/demo \(trained .*\) instead of training$/,
    );
    await assert.rejects(
      trainOrLoad({ ...options, settings: { ...SETTINGS, epochs: 4 }, reuse: true }),
      /epochs: 3 in the save, 4 now/,
    );
    // A save made without a history (saveTrainedModels alone) cannot stand in for training.
    const bareRoot = path.join(root, 'no-history');
    await saveTrainedModels({
      notebook: 'demo',
      root: bareRoot,
      models: { encoder: first.encoder, decoder: first.decoder },
      settings: SETTINGS,
      dataSource: DATA,
    });
    await assert.rejects(
      trainOrLoad({ ...options, root: bareRoot, reuse: true }),
      /no-history\/demo\/manifest\.json holds no training history[^]*reuseTrained = false/,
    );
    dispose(first);
    dispose(fresh);
  });
});
