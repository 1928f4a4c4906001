/**
 * Checkpoints: resume reproduces an uninterrupted run bit for bit, incomplete folders and
 * checkpoints of other models or optimizers are never loaded, and a training process killed with
 * SIGKILL inside a checkpoint's file write (or at random moments) resumes cleanly.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { after, describe, it } from 'node:test';
import type { LayersModel, Tensor4D } from '@tensorflow/tfjs-node';
import { createDcgan, disposeDcgan, tf, fit, trainGan } from '../../lib';
import type { GanHistory } from '../../lib/train';
import { buildConvAutoencoder, paramCounts } from '../../lib/models';
import { DenseAutoencoder } from '../fixtures/denseAutoencoder';
import { findLatestCheckpoint, loadCheckpoint, saveCheckpoint } from '../../lib/train';
import { CHILD_BATCH, CHILD_SEED, childImages } from '../fixtures/train-child';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A resumed run repeats the uninterrupted one bit for bit: every loss of every iteration. */
function assertSameLosses(a: GanHistory, b: GanHistory): void {
  assert.deepEqual(a.iteration, b.iteration);
  for (const key of ['dLoss', 'dLossReal', 'dLossFake', 'gLoss'] as const) {
    a[key].forEach((value, i) => assert.ok(Object.is(value, b[key][i]), `${key}[${i}]: ${value} vs ${b[key][i]}`));
  }
}

async function uninterruptedChildRun(iterations: number): Promise<GanHistory> {
  const images = childImages() as Tensor4D;
  const gan = createDcgan({ seed: CHILD_SEED });
  const history = await trainGan(gan, images, {
    iterations,
    batchSize: CHILD_BATCH,
    seed: CHILD_SEED,
    progress: false,
  });
  disposeDcgan(gan);
  images.dispose();
  return history;
}

describe('checkpoints in process', () => {
  it('GAN: stop at 3, resume into fresh models, and match an uninterrupted run (weights + Adam state)', async () => {
    const dir = path.join(root, 'gan');
    const images = tf.randomUniform([16, 28, 28, 1], -1, 1, 'float32', 1) as Tensor4D;
    const reference = createDcgan({ seed: 4 });
    const full = await trainGan(reference, images, { iterations: 6, batchSize: 4, seed: 8, progress: false });
    disposeDcgan(reference);

    const firstHalf = createDcgan({ seed: 4 });
    await trainGan(firstHalf, images, {
      iterations: 3,
      batchSize: 4,
      seed: 8,
      progress: false,
      checkpoint: { dir, every: 3 },
    });
    disposeDcgan(firstHalf);
    assert.deepEqual(fs.readdirSync(dir), ['ckpt-3']);

    const before = tf.memory().numTensors;
    const resumed = createDcgan({ seed: 999 }); // other initial weights: the checkpoint must overwrite them
    const history = await trainGan(resumed, images, {
      iterations: 6,
      batchSize: 4,
      progress: false,
      checkpoint: { dir, every: 3, resume: true },
    });
    assertSameLosses(history, full);
    disposeDcgan(resumed);
    assert.equal(tf.memory().numTensors, before, 'resume + training + dispose leaves no tensors behind');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['ckpt-3', 'ckpt-6']);

    // Each model folder is a standard tfjs model: tf.loadLayersModel reads it.
    const loaded = await tf.loadLayersModel(`file://${path.join(dir, 'ckpt-6', 'generator', 'model.json')}`);
    assert.equal(paramCounts(loaded).total, 865_281);
    loaded.dispose();
    images.dispose();
  });

  it('Adam: beta1^t and beta2^t come back bit for bit (setWeights alone recomputes them with pow)', async () => {
    const dir = path.join(root, 'adam');
    const build = () => {
      const model = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [4], units: 4, kernelInitializer: 'zeros' })],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      return model;
    };
    // The private running products of tfjs's Adam (the library saves them for exactly this reason).
    const powers = (model: ReturnType<typeof build>) => {
      const adam = model.optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
      return [adam.accBeta1.dataSync()[0], adam.accBeta2.dataSync()[0]];
    };
    const x = tf.randomUniform([8, 4], 0, 1, 'float32', 5);
    const trained = build();
    await fit(trained, x, {
      epochs: 1,
      batchSize: 4,
      seed: 1,
      progress: false,
      checkpoint: { dir, every: 1 },
    });
    // After these 2 steps the running products (beta^3) differ from pow() in the last bit, so the check can fail.
    const recomputed = tf.tidy(() => [tf.pow(0.9, 3).dataSync()[0], tf.pow(0.999, 3).dataSync()[0]]);
    assert.notDeepEqual(powers(trained), recomputed);

    const restored = build();
    await loadCheckpoint(path.join(dir, 'ckpt-1'), {
      models: { model: restored },
      optimizers: { model: restored.optimizer },
    });
    assert.deepEqual(powers(restored), powers(trained));
    for (const model of [trained, restored]) {
      model.optimizer.dispose();
      model.dispose();
    }
    x.dispose();
  });

  it('autoencoder: resume per epoch restores weights and Adadelta state', async () => {
    const dir = path.join(root, 'ae');
    const x = tf.randomUniform([16, 784], 0, 1, 'float32', 3);
    const full = new DenseAutoencoder({ seed: 1 });
    const reference = await fit(full.model, x, { epochs: 4, batchSize: 8, seed: 2, progress: false });
    full.dispose();
    const part = new DenseAutoencoder({ seed: 1 });
    await fit(part.model, x, {
      epochs: 2,
      batchSize: 8,
      seed: 2,
      progress: false,
      checkpoint: { dir, every: 1 },
    });
    part.dispose();
    const resumed = new DenseAutoencoder({ seed: 5 });
    const history = await fit(resumed.model, x, {
      epochs: 4,
      batchSize: 8,
      progress: false,
      checkpoint: { dir, every: 1, resume: true, keep: 3 },
    });
    resumed.dispose();
    assert.deepEqual(history.epoch, [0, 1, 2, 3]);
    assert.deepEqual(history.loss, reference.loss, 'the resumed losses are the uninterrupted ones, bit for bit');
    x.dispose();
  });

  it('refuses another architecture or optimizer, naming the difference, and leaves the weights alone', async () => {
    const dir = path.join(root, 'mismatch');
    const x = tf.randomUniform([8, 784], 0, 1, 'float32', 6);
    const saved = new DenseAutoencoder({ zDim: 2, seed: 1 });
    await fit(saved.model, x, {
      epochs: 1,
      batchSize: 4,
      seed: 1,
      progress: false,
      checkpoint: { dir, every: 1 },
    });
    saved.dispose();
    const checkpoint = path.join(dir, 'ckpt-1');
    const load = (model: LayersModel) =>
      loadCheckpoint(checkpoint, { models: { model }, optimizers: { model: model.optimizer } });
    const firstKernel = (model: LayersModel) => Array.from(model.weights[0].read().dataSync());

    // 784 -> 3 -> 784: the same four weight tensors, the first of another shape.
    const wider = new DenseAutoencoder({ zDim: 3, seed: 4 });
    const widerKernel = firstKernel(wider.model);
    await assert.rejects(
      load(wider.model),
      new RegExp(
        `^Error: Checkpoint ${checkpoint}: model "model" weight 0 \\(.*\\) ` +
          `has shape \\[784,3\\] now, but \\[784,2\\] in ${checkpoint}/model/model\\.json; ` +
          'the architecture differs\\.$',
      ),
    );
    assert.deepEqual(firstKernel(wider.model), widerKernel, 'the refused checkpoint changed no weight');
    wider.dispose();

    // Another model altogether: another number of weight tensors.
    const conv = buildConvAutoencoder({ seed: 1 });
    await assert.rejects(
      load(conv),
      /model "model" has \d+ weight tensors now, but 4 in .*model\.json; the architecture differs/,
    );
    assert.notEqual(conv.weights.length, 4);
    conv.optimizer.dispose();
    conv.dispose();

    // The same layers compiled with Adam instead of Adadelta.
    const withAdam = new DenseAutoencoder({ zDim: 2, seed: 1 });
    withAdam.model.compile({ optimizer: tf.train.adam(0.001), loss: 'binaryCrossentropy' });
    const adamKernel = firstKernel(withAdam.model);
    await assert.rejects(load(withAdam.model), /optimizer "model" was Adadelta but is now Adam\./);
    assert.deepEqual(firstKernel(withAdam.model), adamKernel, 'nor did the refused optimizer');
    withAdam.dispose(); // disposes its optimizer, Adam (the Adadelta it replaced never trained: no state)

    // A folder that is not a checkpoint.
    const same = new DenseAutoencoder({ zDim: 2, seed: 1 });
    await assert.rejects(
      loadCheckpoint(dir, { models: { model: same.model }, optimizers: { model: same.model.optimizer } }),
      new RegExp(`^Error: Checkpoint ${dir}: ${dir}/manifest\\.json does not exist: the folder holds no complete save`),
    );
    same.dispose();
    x.dispose();
  });

  it('never loads an incomplete folder and cleans up temporary ones', async () => {
    const dir = path.join(root, 'partial');
    const ae = new DenseAutoencoder({ zDim: 2, seed: 1 });
    await saveCheckpoint(
      5,
      { models: { model: ae.model }, optimizers: { model: ae.model.optimizer }, state: { seed: 1 } },
      { dir, every: 1 },
    );
    // A newer folder without a manifest, one whose weights were truncated, and a leftover temp folder.
    fs.mkdirSync(path.join(dir, 'ckpt-9'));
    fs.cpSync(path.join(dir, 'ckpt-5'), path.join(dir, 'ckpt-7'), { recursive: true });
    fs.truncateSync(path.join(dir, 'ckpt-7', 'model', 'weights.bin'), 10);
    // Leftovers of a process that is gone (PID 2^22 + 1 is above Linux's pid_max) go; this process's stay.
    const dead = `.tmp-ckpt-8-${2 ** 22 + 1}-abc`;
    const live = `.tmp-ckpt-9-${process.pid}-abc`;
    fs.mkdirSync(path.join(dir, dead));
    fs.mkdirSync(path.join(dir, live));
    const latest = findLatestCheckpoint(dir);
    assert.equal(latest?.step, 5);
    assert.ok(!fs.existsSync(path.join(dir, dead)));
    assert.ok(fs.existsSync(path.join(dir, live)));
    ae.dispose();
  });
});

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/** Runs the training child; with `killAt`, SIGKILLs it as soon as it prints that line. */
function runChild(env: Record<string, string>, killAt?: RegExp): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'train-child.ts')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (killAt?.test(line)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, lines }));
  });
}

describe('SIGKILL during a save', () => {
  // The child's write of one file of the checkpoint at `killStep` stops half way (half its bytes on disk,
  // synced), and the process is killed right there: inside a model's weights, and inside the manifest,
  // the file whose arrival would have made the folder a checkpoint.
  const cases = [
    { file: 'generator/weights.bin', killStep: 4 },
    { file: 'manifest.json', killStep: 6 },
  ];
  for (const { file, killStep } of cases) {
    const title =
      `killed inside the write of ${file}: no checkpoint; resuming from the last whole one ` +
      'matches an uninterrupted run';
    it(title, async () => {
      const dir = path.join(root, `killed-${killStep}`);
      const every = 2;
      const killed = await runChild(
        { CHILD_DIR: dir, CHILD_ITERATIONS: '40', CHILD_EVERY: String(every), CHILD_KILL_IN: `${killStep}:${file}` },
        /^writing /,
      );
      assert.equal(killed.signal, 'SIGKILL', `child exited with code ${killed.code} instead of being killed`);
      const writing = killed.lines.find((line) => line.startsWith('writing '));
      const [, half, size] = /^writing \S+ (\d+) of (\d+)$/.exec(writing ?? '') ?? [];
      assert.ok(Number(half) > 0 && Number(half) < Number(size), `killed mid-write: ${writing}`);
      const leftovers = fs.readdirSync(dir);
      const temp = leftovers.filter((name) => name.startsWith('.tmp-ckpt-'));
      assert.equal(temp.length, 1, `one half-written temp folder is left: ${leftovers.join(', ')}`);
      assert.ok(temp[0].startsWith(`.tmp-ckpt-${killStep}-`), temp[0]);
      assert.equal(
        fs.statSync(path.join(dir, temp[0], file)).size,
        Number(half),
        `${file} holds the half that was written when the kill came`,
      );
      if (file !== 'manifest.json')
        assert.ok(!fs.existsSync(path.join(dir, temp[0], 'manifest.json')), 'the half-written folder has no manifest');
      assert.ok(!leftovers.includes(`ckpt-${killStep}`), 'the killed save never appears as a checkpoint');
      assert.deepEqual(
        leftovers.filter((n) => n.startsWith('ckpt-')).sort(),
        [killStep - 2 * every, killStep - every]
          .filter((step) => step >= every)
          .map((step) => `ckpt-${step}`)
          .sort(),
        'keep: 2 keeps the two newest complete ones',
      );
      assert.equal(findLatestCheckpoint(dir)?.step, killStep - every, 'the newest whole checkpoint is the one found');

      const total = killStep + 2;
      const resumed = await runChild({ CHILD_DIR: dir, CHILD_ITERATIONS: String(total), CHILD_EVERY: String(every) });
      assert.equal(resumed.code, 0);
      assert.ok(
        resumed.lines.includes(`first ${killStep - every}`),
        `resumed at ${killStep - every}: ${resumed.lines.slice(0, 3).join(' | ')}`,
      );
      assert.ok(!fs.readdirSync(dir).some((name) => name.startsWith('.tmp-')), 'the temp folder was cleaned up');
      const historyLine = resumed.lines.find((line) => line.startsWith('history '));
      assert.ok(historyLine);
      const history = JSON.parse(historyLine.slice('history '.length)) as GanHistory;
      assertSameLosses(history, await uninterruptedChildRun(total));
    });
  }

  it('killed at random moments (no pause), every checkpoint folder left behind is complete and loadable', async () => {
    for (let trial = 0; trial < 2; trial++) {
      const dir = path.join(root, `random-${trial}`);
      const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'train-child.ts')], {
        env: { ...process.env, CHILD_DIR: dir, CHILD_ITERATIONS: '400', CHILD_EVERY: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Wait until training has started, then kill after a random extra delay.
      await new Promise<void>((resolve) => {
        readline.createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.startsWith('first')) resolve();
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
      const exited = new Promise((resolve) => child.on('close', resolve));
      child.kill('SIGKILL');
      await exited;
      const folders = fs.readdirSync(dir).filter((name) => name.startsWith('ckpt-'));
      assert.ok(
        folders.length >= 1,
        `trial ${trial}: some checkpoint was completed (${fs.readdirSync(dir).join(', ')})`,
      );
      const latest = findLatestCheckpoint(dir);
      assert.ok(latest, `trial ${trial}: a complete checkpoint is found`);
      assert.ok(folders.includes(path.basename(latest.path)));
      for (const folder of folders)
        assert.ok(fs.existsSync(path.join(dir, folder, 'manifest.json')), `${folder} is complete`);
      const gan = createDcgan({ seed: 1 });
      const loaded = await loadCheckpoint(latest.path, {
        models: { generator: gan.generator, discriminator: gan.discriminator },
        optimizers: { discriminator: gan.discriminator.optimizer, combined: gan.combined.optimizer },
      });
      assert.equal((loaded.state.history as GanHistory).iteration.length, latest.step);
      disposeDcgan(gan);
    }
  });
});
