/**
 * Training loops: flat tensor counts (no leaks), seeded reproducibility, divergence errors,
 * sampling, histories, and no progress output when asked for none.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { buildConvAutoencoder2d, createDcgan, disposeDcgan, tf, fit, trainGan } from '../../lib';
import { buildConvAutoencoder } from '../../lib/models';
import { DenseAutoencoder } from '../fixtures/denseAutoencoder';
import type { GanHistory } from '../../lib/train';

function ganImages(n: number, seed: number): Tensor4D {
  return tf.randomUniform([n, 28, 28, 1], -1, 1, 'float32', seed) as Tensor4D;
}

function maxDifference(a: GanHistory, b: GanHistory): number {
  let worst = 0;
  for (const key of ['dLoss', 'dLossReal', 'dLossFake', 'gLoss'] as const) {
    assert.equal(a[key].length, b[key].length);
    a[key].forEach((value, i) => {
      worst = Math.max(worst, Math.abs(value - b[key][i]));
    });
  }
  return worst;
}

describe('trainGan', () => {
  // The eager engine runs fewer iterations: each costs about twice as much.
  for (const [engine, last, sampleInterval] of [
    ['graph', 100, 50],
    ['eager', 40, 20],
  ] as const) {
    const flatTitle =
      `${engine} engine: keeps tf.memory().numTensors flat: ` +
      `the same after iteration 10 and after iteration ${last}`;
    it(flatTitle, async () => {
      const images = ganImages(64, 1);
      const gan = createDcgan({ seed: 1 });
      const counts = new Map<number, number>();
      const samples: number[] = [];
      const historyLagged: number[] = [];
      let liveHistory: Readonly<GanHistory> | undefined;
      const before = tf.memory().numTensors;
      const history = await trainGan(gan, images, {
        iterations: last + 1,
        batchSize: 8,
        seed: 1,
        progress: false,
        sampleInterval,
        sampleCount: 4,
        engine,
        onSample: ({ iteration, images: pixels }) => {
          samples.push(iteration);
          assert.equal(pixels.length, 4 * 784);
          assert.ok(
            pixels.every((v) => v >= -1 && v <= 1),
            'samples are tanh outputs in [-1, 1]',
          );
        },
        onIteration: ({ iteration, gLoss }, soFar) => {
          counts.set(iteration, tf.memory().numTensors);
          // The history so far already holds this iteration, and is the object returned at the end.
          if (soFar.iteration.length !== iteration + 1 || soFar.gLoss[iteration] !== gLoss)
            historyLagged.push(iteration);
          liveHistory = soFar;
        },
      });
      assert.deepEqual(historyLagged, [], 'onIteration saw a history without its own iteration');
      assert.equal(liveHistory, history);
      assert.equal(
        counts.get(10),
        counts.get(last),
        `numTensors after iteration 10: ${counts.get(10)}, after ${last}: ${counts.get(last)}`,
      );
      assert.deepEqual(samples, [0, sampleInterval, 2 * sampleInterval]);
      assert.deepEqual(
        history.iteration,
        Array.from({ length: last + 1 }, (_, i) => i),
      );
      history.dLoss.forEach((d, i) =>
        assert.ok(Math.abs(d - (history.dLossReal[i] + history.dLossFake[i]) / 2) < 1e-12),
      );
      // Only the optimizers' state (Adam moments, created on the first step) outlives training.
      const adamState = 2 * 2 * (gan.generator.trainableWeights.length + gan.discriminator.trainableWeights.length);
      assert.ok(
        tf.memory().numTensors - before <= adamState + 2,
        `${tf.memory().numTensors - before} tensors left after training`,
      );
      disposeDcgan(gan);
      images.dispose();
    });
  }

  for (const engine of ['graph', 'eager'] as const) {
    const seedTitle =
      `${engine} engine: the training seed decides the losses: ` +
      'the same seed repeats them exactly, another changes them';
    it(seedTitle, async () => {
      const images = ganImages(32, 2);
      const iterations = engine === 'graph' ? 20 : 8;
      // The models start from the same weights every time (model seed 5): only trainGan's seed
      // (batches, noise, dropout masks) differs between the runs.
      const run = async (seed: number) => {
        const gan = createDcgan({ seed: 5 });
        const history = await trainGan(gan, images, { iterations, batchSize: 8, seed, progress: false, engine });
        disposeDcgan(gan);
        return history;
      };
      const first = await run(5);
      const second = await run(5);
      const other = await run(6);
      assert.equal(first.gLoss.length, iterations);
      assert.deepEqual(second, first, 'the same seed gives the same losses, bit for bit');
      assert.ok(
        maxDifference(first, other) > 1e-3,
        `another seed changes the losses by only ${maxDifference(first, other)}`,
      );
      images.dispose();
    });
  }

  it('stops with an error naming the iteration and the loss when a loss is NaN', async () => {
    const images = tf.tidy(() => ganImages(8, 3).mul(tf.scalar(NaN))) as Tensor4D;
    const gan = createDcgan({ seed: 3 });
    await assert.rejects(
      trainGan(gan, images, { iterations: 5, batchSize: 4, seed: 3, progress: false }),
      /Training diverged at iteration 0: d_loss_real is NaN/,
    );
    disposeDcgan(gan);
    images.dispose();
  });

  it('explains wrongly shaped images', async () => {
    const gan = createDcgan();
    const flat = tf.zeros([4, 784]) as unknown as Tensor4D;
    await assert.rejects(
      trainGan(gan, flat, { iterations: 1, batchSize: 2, progress: false }),
      /\[n, 28, 28, 1\].*got shape \[4,784\]/,
    );
    flat.dispose();
    disposeDcgan(gan);
  });
});

describe('fit', () => {
  const cases: Array<{ name: string; build: () => LayersModel; data: () => Tensor }> = [
    {
      name: 'convolutional autoencoder (SPEC B)',
      build: () => buildConvAutoencoder({ seed: 1 }),
      data: () => tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 4),
    },
    {
      name: 'dense autoencoder (SPEC C)',
      build: () => new DenseAutoencoder({ seed: 1 }).model,
      data: () => tf.randomUniform([16, 784], 0, 1, 'float32', 5),
    },
    {
      name: '2-D convolutional autoencoder (SPEC D)',
      build: () => buildConvAutoencoder2d({ seed: 1 }).model,
      data: () => tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 6),
    },
  ];
  // 2 batches per epoch; the eager engine runs fewer epochs: each costs two to three times as much.
  for (const [engine, epochs] of [
    ['graph', 50],
    ['eager', 20],
  ] as const) {
    for (const { name, build, data } of cases) {
      const flatTitle =
        `${engine} engine, ${name}: ` + `numTensors the same after step 10 and step ${2 * epochs}, history per epoch`;
      it(flatTitle, async () => {
        const model = build();
        const x = data();
        const validation = data();
        const counts: number[] = [];
        const history = await fit(model, x, {
          epochs,
          batchSize: 8,
          seed: 1,
          progress: false,
          validationData: validation,
          engine,
          onBatch: () => {
            counts.push(tf.memory().numTensors);
          },
        });
        assert.equal(counts.length, 2 * epochs);
        assert.equal(
          counts[9],
          counts[2 * epochs - 1],
          `numTensors after step 10: ${counts[9]}, after step ${2 * epochs}: ${counts[2 * epochs - 1]}`,
        );
        assert.equal(history.epoch.length, epochs);
        assert.equal(history.valLoss.length, epochs);
        assert.ok(
          history.loss[epochs - 1] < history.loss[0],
          `loss fell from ${history.loss[0]} to ${history.loss[epochs - 1]}`,
        );
        if (name.startsWith('dense')) {
          assert.equal(history.accuracy?.length, epochs);
          assert.ok(history.valAccuracy!.every((a) => a >= 0 && a <= 1));
        } else {
          assert.equal(history.accuracy, undefined);
        }
        tf.dispose([x, validation]);
        model.optimizer.dispose();
        model.dispose();
      });
    }
  }

  for (const engine of ['graph', 'eager'] as const) {
    const seedTitle =
      `${engine} engine: the same seed gives the same epoch losses exactly, ` +
      'another seed (another shuffle) other losses';
    it(seedTitle, async () => {
      const x = tf.randomUniform([24, 784], 0, 1, 'float32', 8);
      const run = async (seed: number) => {
        const ae = new DenseAutoencoder({ seed: 2 }); // the same initial weights every time
        const history = await fit(ae.model, x, { epochs: 3, batchSize: 8, seed, progress: false, engine });
        ae.dispose();
        return history.loss;
      };
      const first = await run(9);
      assert.deepEqual(await run(9), first);
      const other = await run(10);
      assert.ok(
        other.some((loss, i) => Math.abs(loss - first[i]) > 1e-6),
        `seed 10 gave the losses of seed 9: ${other.join(', ')}`,
      );
      x.dispose();
    });
  }

  for (const engine of ['graph', 'eager'] as const) {
    const targetTitle =
      `${engine} engine: target and validationData [inputs, targets]: ` +
      'trains x -> target, validates validation -> validationTarget';
    it(targetTitle, async () => {
      // A linear layer can learn y = -x exactly; it can only if each batch's targets are the
      // rows of target that belong to its inputs (after the shuffle).
      const x = tf.randomUniform([32, 4], -1, 1, 'float32', 11);
      const target = tf.neg(x);
      const validation = tf.randomUniform([8, 4], -1, 1, 'float32', 12);
      const validationTarget = tf.neg(validation);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
      const meanSquaredError = (inputs: Tensor, expected: Tensor) =>
        tf.tidy(() => tf.losses.meanSquaredError(expected, model.predict(inputs) as Tensor).dataSync()[0]);
      const valLossErrors: number[] = [];
      const history = await fit(model, x, {
        epochs: 60,
        batchSize: 8,
        seed: 3,
        progress: false,
        engine,
        target,
        validationData: [validation, validationTarget],
        // Checked against the model's own predictions, computed here.
        onEpoch: ({ valLoss }) => {
          valLossErrors.push(Math.abs((valLoss ?? NaN) - meanSquaredError(validation, validationTarget)));
        },
      });
      assert.equal(valLossErrors.length, 60);
      assert.ok(
        valLossErrors.every((error) => error < 1e-6),
        `valLoss differs from the validation MSE by up to ${Math.max(...valLossErrors)}`,
      );
      assert.ok(
        history.loss[59] < 0.01 * history.loss[0],
        `training loss fell only from ${history.loss[0]} to ${history.loss[59]}`,
      );
      assert.ok(meanSquaredError(x, target) < 0.01, 'the model maps x to -x');
      assert.ok(
        meanSquaredError(validation, validation) > 0.5,
        'and not to x (what the default target, x itself, would train)',
      );

      const tooFew = tf.zeros([31, 4]);
      await assert.rejects(
        fit(model, x, { epochs: 1, batchSize: 8, progress: false, engine, target: tooFew }),
        /options\.target has 31 samples but x has 32/,
      );
      tf.dispose([x, target, validation, validationTarget, tooFew]);
      model.optimizer.dispose();
      model.dispose();
    });
  }

  it('stops with an error naming the epoch, batch and loss when the loss becomes NaN', async () => {
    const model = buildConvAutoencoder({ seed: 1 });
    const x = tf.tidy(() => tf.randomUniform([8, 28, 28, 1]).mul(tf.scalar(Infinity)));
    await assert.rejects(
      fit(model, x, { epochs: 2, batchSize: 4, progress: false }),
      /diverged at epoch 0, batch 0: loss is NaN/,
    );
    x.dispose();
    model.dispose();
  });
});

describe('progress', () => {
  it('progress: false prints nothing', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    const gan = createDcgan({ seed: 1 });
    const images = ganImages(8, 1);
    try {
      await trainGan(gan, images, { iterations: 2, batchSize: 2, progress: false });
    } finally {
      process.stderr.write = original;
    }
    assert.deepEqual(writes, []);
    disposeDcgan(gan);
    images.dispose();
  });
});
