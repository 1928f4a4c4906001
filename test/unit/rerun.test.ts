/**
 * releaseOnRerun, as the notebooks' build cells call it: each rerun of a cell disposes the models
 * (and optimizers) the cell built the time before, so five reruns leave as many tensors and native
 * sessions as one run; models a clean-up cell already disposed are skipped without an error.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../../lib/tf';
import { buildConvAutoencoder2d, buildDiscriminator, buildGan, buildGenerator, createDcgan } from '../../lib/models';
import { compiled, releaseOnRerun } from '../../lib/train';
import { isModelDisposed, nativeSessionBackend } from '../../lib/graph/tfjsInternals';

const RERUNS = 5;

function liveSessions(): number {
  const backend = nativeSessionBackend();
  assert.ok(backend, 'the native backend is active');
  return backend.getNumOfSavedModels();
}

/** numTensors and live sessions after each of RERUNS runs of `runCell`. */
async function countsAfterReruns(runCell: (run: number) => Promise<void>): Promise<[number, number][]> {
  const counts: [number, number][] = [];
  for (let run = 0; run < RERUNS; run++) {
    await runCell(run);
    counts.push([tf.memory().numTensors, liveSessions()]);
  }
  return counts;
}

function assertFlat(counts: [number, number][], what: string): void {
  assert.deepEqual(
    counts,
    counts.map(() => counts[0]),
    `[numTensors, live sessions] after each of ${RERUNS} runs of ${what}`,
  );
}

/** A clean-up cell: the optimizers, then each model not yet disposed (an outer model disposes those in it). */
function cleanUp(models: LayersModel[]): void {
  for (const model of models) model.optimizer?.dispose();
  for (const model of models) if (!isModelDisposed(model)) model.dispose();
}

describe('releaseOnRerun', () => {
  it(`${RERUNS} reruns of 04's build cell (own Adam, three compiled steps each): flat tensors, sessions`, async () => {
    const baseline = tf.memory().numTensors;
    const sessionsBefore = liveSessions();
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 7);
    let built: LayersModel[] = [];
    const counts = await countsAfterReruns(async (run) => {
      // The build cell, then (as in 04) a later cell compiles with its own optimizer and trains.
      const { encoder, decoder, model } = buildConvAutoencoder2d({ seed: 30 + run, compile: false });
      releaseOnRerun('test 04 autoencoder', [encoder, decoder, model]);
      model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
      // Adam's first step (eager, it makes the slots), then graph steps in a session.
      const step = compiled(model, { seed: 1 });
      for (let i = 0; i < 3; i++) await step.trainOnBatch(x, x);
      built = [model, encoder, decoder]; // a clean-up disposes the whole model first: it disposes the others
    });
    assertFlat(counts, "04's build cell");
    assert.equal(counts[0][1], sessionsBefore + 1, 'one session: the latest model trains in it');
    assert.ok(
      counts[0][0] > baseline + 20,
      `the latest model's weights are alive (${counts[0][0] - baseline} tensors)`,
    );

    cleanUp(built);
    x.dispose();
    assert.equal(liveSessions(), sessionsBefore);
    assert.equal(tf.memory().numTensors, baseline, 'the clean-up freed the last build: nothing else was left');
  });

  it(`${RERUNS} reruns of a GAN build cell (createDcgan, three compiled D and combined steps each): flat`, async () => {
    const baseline = tf.memory().numTensors;
    const sessionsBefore = liveSessions();
    const images = tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 8);
    const noise = tf.randomNormal([4, 100], 0, 1, 'float32', 9);
    const [ones, zeros] = [tf.ones([4, 1]), tf.zeros([4, 1])];
    let built: LayersModel[] = [];
    const counts = await countsAfterReruns(async (run) => {
      const { generator, discriminator, combined } = createDcgan({ seed: 40 + run });
      // G and D are layers of the combined model: all three are passed, so every layer's count reaches 0.
      releaseOnRerun('test dcgan', [generator, discriminator, combined]);
      const [d, gan] = [compiled(discriminator, { seed: 1 }), compiled(combined, { seed: 2 })];
      for (let i = 0; i < 3; i++) {
        await d.trainOnBatch(images, ones);
        await gan.trainOnBatch(noise, ones);
      }
      built = [generator, discriminator, combined];
    });
    assertFlat(counts, 'the GAN build cell');
    assert.equal(counts[0][1], sessionsBefore + 1, "G, D and the combined model share the latest build's session");

    releaseOnRerun('test dcgan', []); // a rerun that builds nothing frees the last build too
    assert.equal(liveSessions(), sessionsBefore);
    assert.ok(built.every(isModelDisposed), 'every model of the last build was disposed');
    tf.dispose([images, noise, ones, zeros]);
    assert.equal(tf.memory().numTensors, baseline, 'models, their owned optimizers and the session left nothing');
  });

  it("01's compile cell rerun alone (G and D kept, the combined model and D's optimizer replaced): flat", async () => {
    const baseline = tf.memory().numTensors;
    const [generator, discriminator] = [buildGenerator({ seed: 50 }), buildDiscriminator({ seed: 51 })];
    const noise = tf.randomNormal([4, 100], 0, 1, 'float32', 10);
    const ones = tf.ones([4, 1]);
    let combined: LayersModel | undefined;
    const counts = await countsAfterReruns(async () => {
      // 01's cell: compile D with its own Adam, build and compile the combined model, then the call.
      discriminator.compile({ loss: 'binaryCrossentropy', optimizer: tf.train.adam(0.001) });
      combined = buildGan(generator, discriminator);
      discriminator.trainable = false;
      combined.compile({ loss: 'binaryCrossentropy', optimizer: tf.train.adam(0.001) });
      discriminator.trainable = true;
      releaseOnRerun('test 01 compile cell', [generator, discriminator, combined]);
      const fakes = generator.predict(noise) as Tensor;
      await compiled(discriminator, { seed: 1 }).trainOnBatch(fakes, ones);
      await compiled(combined, { seed: 2 }).trainOnBatch(noise, ones);
      fakes.dispose();
    });
    assertFlat(counts, "01's compile cell");
    assert.ok(combined);
    // Each combined model added a use to G and D; a rerun that builds nothing disposes them down to 0.
    releaseOnRerun('test 01 compile cell', []);
    assert.ok([combined, generator, discriminator].every(isModelDisposed), 'the last build was disposed');
    tf.dispose([noise, ones]);
    assert.equal(tf.memory().numTensors, baseline, 'every replaced optimizer was disposed');
  });

  it("a rerun after a clean-up cell disposed the models (as 04's and 05's do) does not throw", async () => {
    const baseline = tf.memory().numTensors;
    const sessionsBefore = liveSessions();
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 11);
    const buildAndTrain = async (seed: number) => {
      const built = buildConvAutoencoder2d({ seed: seed });
      releaseOnRerun('test cleaned up', [built.encoder, built.decoder, built.model]);
      await compiled(built.model, { seed: 1 }).trainOnBatch(x, x);
      return built;
    };

    const first = await buildAndTrain(60);
    cleanUp([first.model, first.encoder, first.decoder]);
    // 04's and 05's clean-up: the optimizer, then the whole model, which disposes the encoder and decoder in it.
    const second = await buildAndTrain(61); // the rerun finds every model of the first run disposed
    cleanUp([second.model]);
    assert.ok(isModelDisposed(second.encoder) && isModelDisposed(second.decoder), 'they went with the model');
    await buildAndTrain(62);
    releaseOnRerun('test cleaned up', []);

    x.dispose();
    assert.equal(liveSessions(), sessionsBefore);
    assert.equal(tf.memory().numTensors, baseline, 'nothing of the three builds was left');
  });
});
