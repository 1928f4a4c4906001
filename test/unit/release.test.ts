/**
 * A compiled session goes with its model: `model.dispose()` (or disposing the VAE's encoder and
 * decoder) deletes the native session at once, the weights that outlive it keep their trained
 * values, and no tensor stays behind. A model dropped without dispose has its session deleted by
 * the garbage collector; that, and 40 rebuilds of 04's autoencoder, are measured in a child
 * process run with `--expose-gc` (test/fixtures/release-child.ts), since only it can force GC.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../../lib/tf';
import { buildConvAutoencoder2d } from '../../lib/models';
import { DenseAutoencoder } from '../fixtures/denseAutoencoder';
import { compiled } from '../../lib/train';
import { nativeSessionBackend } from '../../lib/graph/tfjsInternals';
import type { ReleaseReport } from '../fixtures/release-child';

const ROOT = path.join(__dirname, '..', '..');
const REBUILDS = 40;
/** Rebuilds left out of the RSS slope: allocator pools and V8's heap settle in the first ones. */
const WARM_UP = 10;
/** Steps until a compiled step has run in a session: Adam's first (eager), then graph steps. */
const STEPS_TO_SESSION = 3;

function liveSessions(): number {
  const backend = nativeSessionBackend();
  assert.ok(backend, 'the native backend is active');
  return backend.getNumOfSavedModels();
}

function maxDifference(a: Tensor[], b: Tensor[]): number {
  return Math.max(...a.map((t, i) => tf.tidy(() => t.sub(b[i]).abs().max().dataSync()[0])));
}

/** Least-squares slope of `values` against their index. */
function slope(values: number[]): number {
  const n = values.length;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((sum, v) => sum + v, 0) / n;
  let covariance = 0;
  let variance = 0;
  values.forEach((v, i) => {
    covariance += (i - meanX) * (v - meanY);
    variance += (i - meanX) ** 2;
  });
  return covariance / variance;
}

let childReport: Promise<ReleaseReport> | undefined;

/** Runs the --expose-gc child once for the tests that need it; resolves to its report. */
function releaseChild(): Promise<ReleaseReport> {
  childReport ??= new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', path.join('test', 'fixtures', 'release-child.ts')],
      { cwd: ROOT, env: { ...process.env, RELEASE_REBUILDS: String(REBUILDS) }, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`release-child failed (${error.message}):\n${stderr.slice(-4000)}`));
          return;
        }
        const lines = stdout.trim().split('\n');
        resolve(JSON.parse(lines[lines.length - 1]) as ReleaseReport);
      },
    );
  });
  return childReport;
}

describe('releasing compiled sessions', () => {
  it('model.dispose() deletes its session; a layer another model still uses keeps the trained values', async () => {
    const baseline = tf.memory().numTensors;
    const sessionsBefore = liveSessions();
    // 03's autoencoder: its decoder reuses the model's output layer, which outlives model.dispose().
    const graphAe = new DenseAutoencoder({ zDim: 8, seed: 21 });
    const eagerTwin = new DenseAutoencoder({ zDim: 8, seed: 21 });
    const decoder = graphAe.decoder();
    const initial = graphAe.outputLayer.getWeights().map((w) => w.clone());
    const x = tf.randomUniform([16, 784], 0, 1, 'float32', 3);
    const step = compiled(graphAe.model, { seed: 1 });
    assert.equal(step.engine, 'graph');
    const eagerStep = compiled(eagerTwin.model, { engine: 'eager' });
    for (let i = 0; i < STEPS_TO_SESSION + 2; i++) {
      await step.trainOnBatch(x, x);
      await eagerStep.trainOnBatch(x, x);
    }
    assert.equal(liveSessions(), sessionsBefore + 1, 'the steps run in one session');

    graphAe.model.dispose();
    assert.equal(liveSessions(), sessionsBefore, 'model.dispose() deleted the session');
    const kept = decoder.getWeights();
    const trained = eagerTwin.outputLayer.getWeights();
    const moved = maxDifference(trained, initial);
    assert.ok(moved > 1e-3, `the steps moved the output layer (by ${moved})`);
    assert.ok(maxDifference(kept, trained) < 1e-5, "the decoder's output layer has the session's trained values");

    decoder.dispose();
    eagerTwin.model.dispose();
    tf.dispose([...initial, x]);
    assert.equal(tf.memory().numTensors, baseline, 'the models, their optimizers and the session left no tensor');
  });

  it("a library model's optimizer goes with it: model.dispose() after training leaves no tensor", async () => {
    const baseline = tf.memory().numTensors;
    const { model } = buildConvAutoencoder2d({ seed: 22 });
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 4);
    const step = compiled(model, { seed: 1 });
    for (let i = 0; i < STEPS_TO_SESSION; i++) await step.trainOnBatch(x, x);
    tf.dispose(model.getWeights().map((w) => w.clone())); // a read copies Adam's slots into tfjs too
    model.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'weights, Adam step counters and slots were all disposed');
  });

  it("the notebooks' clean-up order (optimizer first, then the model) frees the session and every tensor", async () => {
    const baseline = tf.memory().numTensors;
    const sessionsBefore = liveSessions();
    const { model } = buildConvAutoencoder2d({ seed: 23, compile: false });
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 5);
    const step = compiled(model, { seed: 1 });
    for (let i = 0; i < STEPS_TO_SESSION; i++) await step.trainOnBatch(x, x);
    // The session is newer than tfjs here; the dispose copies back only the weights, so the disposed
    // optimizer gets no new slots.
    model.optimizer?.dispose();
    model.dispose();
    x.dispose();
    assert.equal(liveSessions(), sessionsBefore, 'the session was deleted');
    assert.equal(tf.memory().numTensors, baseline, 'no tensor was left');
  });

  it("a step on a written loss: disposing one of its models deletes the step's session", async () => {
    const baseline = tf.memory().numTensors;
    const sessionsBefore = liveSessions();
    // Two models on their own (not nested in a third, which would keep their weights).
    const encoder = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 2 })],
    });
    const decoder = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [2], units: 784 }), tf.layers.reshape({ targetShape: [28, 28, 1] })],
    });
    const optimizer = tf.train.adam(0.001);
    const step = compiled([encoder, decoder], {
      loss: (images: Tensor) => tf.losses.meanSquaredError(images, decoder.apply(encoder.apply(images)) as Tensor),
      optimizer,
      seed: 1,
    });
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 6);
    for (let i = 0; i < STEPS_TO_SESSION; i++) await step.trainOnBatch(x);
    assert.equal(step.engine, 'graph');
    assert.equal(liveSessions(), sessionsBefore + 1);
    encoder.dispose();
    assert.equal(liveSessions(), sessionsBefore, 'encoder.dispose() deleted the session');
    decoder.dispose();
    optimizer.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'no tensor was left');
  });

  it(`${REBUILDS} rebuilds of 04's autoencoder (a compiled step, dispose, gc): flat numTensors and RSS`, async () => {
    const { rebuilds } = await releaseChild();
    assert.equal(rebuilds.numTensors.length, REBUILDS);
    const first = rebuilds.numTensors[0];
    assert.deepEqual(
      rebuilds.numTensors,
      rebuilds.numTensors.map(() => first),
      'numTensors after each rebuild',
    );
    assert.ok(
      rebuilds.sessions.every((count) => count === 0),
      `live sessions after each rebuild: ${rebuilds.sessions}`,
    );
    const rss = rebuilds.rssMb;
    const perRebuild = slope(rss.slice(WARM_UP));
    const summary =
      `RSS ${rss[0].toFixed(0)} -> ${rss[rss.length - 1].toFixed(0)} MB over ${REBUILDS} rebuilds, ` +
      `${perRebuild.toFixed(2)} MB per rebuild after ${WARM_UP}`;
    console.log(`release: ${summary}; numTensors ${first} after every rebuild`);
    assert.ok(perRebuild < 1, summary);
  });

  it("a loss step's handle dropped and collected leaves its models' trained weights in place", async () => {
    const { droppedHandleDifference } = await releaseChild();
    assert.ok(droppedHandleDifference < 1e-6, `weights differ from the eager twin's by ${droppedHandleDifference}`);
  });

  it('the garbage collector deletes the session of an unreachable trained model (compiled, with a loss)', async () => {
    const { engineGcPath, lossGcPath } = await releaseChild();
    for (const [name, run] of [
      ['compiled(model)', engineGcPath],
      ['compiled(models, { loss })', lossGcPath],
    ] as const) {
      const text = `${name}: ${JSON.stringify(run)}`;
      assert.equal(run.engine, 'graph', text);
      assert.equal(run.sessionsWhileHeld, run.sessionsBefore + 1, `one session while the model was reachable; ${text}`);
      assert.equal(run.sessionsAfterGc, run.sessionsBefore, `collected, its session is gone; ${text}`);
      assert.equal(run.releasedByGc, 1, `deleted by the finalizer; ${text}`);
    }
  });
});
