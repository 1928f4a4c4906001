/**
 * The public compiled step, `compiled(model)`: Keras-like trainOnBatch/predict on the graph
 * engine, weights readable and writable between steps, clear errors for bad input (with the
 * weights untouched), and the tfjs-version check of the adapter to tfjs's internals.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { SymbolicTensor, Tensor } from '@tensorflow/tfjs-node';
import { tf, compiled, createDcgan, disposeDcgan, releaseTrainingGraph, fit, trainGan } from '../../lib';
import { buildConvAutoencoder } from '../../lib/models';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { pretendTfjsVersionForTesting, TFJS_VERSION_WRITTEN_FOR } from '../../lib/graph/tfjsInternals';

function maxDifference(a: Tensor[], b: Tensor[]): number {
  return Math.max(...a.map((t, i) => tf.tidy(() => t.sub(b[i]).abs().max().dataSync()[0])));
}

describe('compiled(model)', () => {
  const trainsTitle =
    'trains on the graph engine; predict, getWeights and setWeights between steps see and change the trained weights';
  it(trainsTitle, async () => {
    const model = buildConvAutoencoder({ seed: 4 });
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 1);
    const step = compiled(model, { seed: 1 });
    assert.equal(step.engine, 'graph');
    assert.equal(step.reason, '');
    const before = model.getWeights().map((w) => w.clone());
    const loss = await step.trainOnBatch(x, x);
    assert.ok(Number.isFinite(loss) && loss > 0);
    const after = model.getWeights();
    assert.ok(maxDifference(before, after) > 0, 'getWeights reads the trained weights without an explicit sync');
    const [eagerOut, graphOut] = [model.predict(x) as Tensor, step.predict(x)];
    assert.ok(maxDifference([eagerOut], [graphOut]) < 1e-5, 'model.predict and the compiled predict agree');
    // Weights set between steps are the ones the next step starts from.
    model.setWeights(before);
    const fromBefore = step.predict(x);
    const eagerFromBefore = model.predict(x) as Tensor;
    assert.ok(maxDifference([fromBefore], [eagerFromBefore]) < 1e-5, 'setWeights reached the session');
    tf.dispose([...before, eagerOut, graphOut, fromBefore, eagerFromBefore, x]);
    model.dispose();
  });

  it('keeps tf.memory().numTensors flat over many steps', async () => {
    const gan = createDcgan({ seed: 5 });
    const [d, g, combined] = [compiled(gan.discriminator), compiled(gan.generator), compiled(gan.combined)];
    const ones = tf.ones([4, 1]);
    const zeros = tf.zeros([4, 1]);
    const iteration = async () => {
      const noise = tf.randomNormal([4, 100]);
      const fakes = g.predict(noise);
      await d.trainOnBatch(fakes, zeros);
      await combined.trainOnBatch(noise, ones);
      tf.dispose([noise, fakes]);
    };
    await iteration();
    gan.generator.getWeights(); // a pull creates the optimizer's slots in tfjs once
    const start = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await iteration();
    gan.generator.getWeights();
    assert.equal(tf.memory().numTensors, start);
    tf.dispose([ones, zeros]);
    disposeDcgan(gan);
  });

  const rejectsTitle =
    'rejects bad input with the model, the argument and the expected shape, and leaves the weights as they were';
  it(rejectsTitle, async () => {
    const gan = createDcgan({ seed: 6 });
    const d = compiled(gan.discriminator);
    const g = compiled(gan.generator);
    const images = tf.zeros([4, 28, 28, 1]);
    const labels = tf.ones([4, 1]);
    await d.trainOnBatch(images, labels);
    const before = gan.discriminator.getWeights().map((w) => w.clone());
    await assert.rejects(
      g.trainOnBatch(tf.zeros([4, 100]), labels),
      /compiled\(generator\)\.trainOnBatch: model "generator" is not compiled; call generator\.compile/,
    );
    await assert.rejects(d.trainOnBatch(images, tf.ones([3, 1])), /x holds 4 samples but y holds 3/);
    await assert.rejects(
      d.trainOnBatch(images, tf.ones([4])),
      /y has shape \[4\]; model "discriminator" outputs \[4, 1\]/,
    );
    await assert.rejects(
      d.trainOnBatch(tf.zeros([4, 28, 28]), labels),
      /x has shape \[4, 28, 28\]; model "discriminator" takes \[batch, 28, 28, 1\]/,
    );
    assert.throws(
      () => g.predict(tf.zeros([2, 10])),
      /compiled\(generator\)\.predict: x has shape \[2, 10\]; model "generator" takes \[batch, 100\]/,
    );
    assert.equal(maxDifference(before, gan.discriminator.getWeights()), 0, 'nothing was half-updated');
    tf.dispose([images, labels, ...before]);
    disposeDcgan(gan);
  });

  const twoInputsTitle =
    'a two-input model (Embedding and Concatenate, a label beside an image, as in a conditional GAN) trains on ' +
    'the graph engine, matching eager steps within float tolerance';
  it(twoInputsTitle, async () => {
    const build = () => {
      const image = tf.input({ shape: [8] });
      const label = tf.input({ shape: [1] });
      const embedded = tf.layers
        .flatten()
        .apply(
          tf.layers
            .embedding({ inputDim: 10, outputDim: 4, embeddingsInitializer: tf.initializers.randomNormal({ seed: 1 }) })
            .apply(label),
        ) as SymbolicTensor;
      const joined = tf.layers.concatenate().apply([image, embedded]) as SymbolicTensor;
      const hidden = tf.layers
        .dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
        .apply(joined);
      const output = tf.layers
        .dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })
        .apply(hidden) as SymbolicTensor;
      const model = tf.model({ inputs: [image, label], outputs: output });
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'binaryCrossentropy' });
      return model;
    };
    const [graph, eager] = [build(), build()];
    const images = tf.randomNormal([16, 8], 0, 1, 'float32', 4);
    const labels = tf.tensor2d(Array.from({ length: 16 }, (_, i) => [i % 10]));
    const targets = tf.tensor2d(Array.from({ length: 16 }, (_, i) => [i % 2]));
    const step = compiled(graph, { engine: 'graph' });
    for (let i = 0; i < 6; i++) {
      const graphLoss = await step.trainOnBatch([images, labels], targets);
      const eagerLoss = (await eager.trainOnBatch([images, labels], targets)) as number;
      assert.ok(Math.abs(graphLoss - eagerLoss) < 1e-6, `step ${i}: graph ${graphLoss}, eager ${eagerLoss}`);
    }
    assert.equal(step.engine, 'graph');
    assert.ok(maxDifference(graph.getWeights(), eager.getWeights()) < 1e-6, 'the same weights, embeddings included');
    tf.dispose([images, labels, targets]);
    graph.dispose();
    eager.dispose();
  });

  const otherTfjsTitle =
    'on a tfjs version the adapter was not written for, auto trains eagerly with a warning naming both versions, ' +
    'and graph throws';
  it(otherTfjsTitle, async () => {
    const model = buildConvAutoencoder({ seed: 7 });
    const warnings: string[] = [];
    const savedWarn = console.warn;
    console.warn = (...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
    };
    pretendTfjsVersionForTesting('9.9.9');
    try {
      const step = compiled(model);
      assert.equal(step.engine, 'eager');
      assert.match(
        step.reason,
        new RegExp(
          `written for tfjs ${TFJS_VERSION_WRITTEN_FOR.replace(/\./g, '\\.')}, and tfjs 9\\.9\\.9 is installed`,
        ),
      );
      assert.match(warnings.join('\n'), /tfjs 9\.9\.9 is installed; training with tfjs's eager trainOnBatch instead/);
      assert.throws(() => compiled(model, { engine: 'graph' }), /tfjs 9\.9\.9 is installed; use engine: 'eager'/);
      const x = tf.zeros([2, 28, 28, 1]);
      assert.ok(Number.isFinite(await step.trainOnBatch(x, x)), 'the eager fallback trains');
      x.dispose();
    } finally {
      pretendTfjsVersionForTesting(undefined);
      console.warn = savedWarn;
    }
    assert.equal(compiled(model).engine, 'graph', 'the real version is trusted again');
    model.dispose();
  });

  it("fit takes validationData as Keras's fit does: [x, y], or one tensor for an autoencoder", async () => {
    const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 3);
    const xTest = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 4);
    const run = async (options: Parameters<typeof fit>[2]) => {
      const model = buildConvAutoencoder({ seed: 9 });
      try {
        return (await fit(model, x, options)).valLoss;
      } finally {
        model.dispose();
      }
    };
    const base = { epochs: 2, batchSize: 8, seed: 1, progress: false };
    const pair = await run({ ...base, validationData: [xTest, xTest] });
    assert.equal(pair.length, 2);
    assert.deepEqual(await run({ ...base, validationData: xTest }), pair);
    tf.dispose([x, xTest]);
  });

  /** Counts the native sessions loaded and deleted (tfjs-node's SavedModel calls) while `body` runs. */
  async function watchSessions(body: (log: { loaded: number[]; deleted: number[] }) => Promise<void>): Promise<void> {
    const backend = tf.backend() as unknown as {
      loadSavedModelMetaGraph(dir: string, tags: string): number;
      deleteSavedModel(id: number): void;
    };
    const [load, remove] = [backend.loadSavedModelMetaGraph, backend.deleteSavedModel];
    const log = { loaded: [] as number[], deleted: [] as number[] };
    backend.loadSavedModelMetaGraph = function (this: unknown, dir: string, tags: string) {
      const id = load.call(this, dir, tags);
      log.loaded.push(id);
      return id;
    };
    backend.deleteSavedModel = function (this: unknown, id: number) {
      log.deleted.push(id);
      remove.call(this, id);
    };
    try {
      await body(log);
    } finally {
      backend.loadSavedModelMetaGraph = load;
      backend.deleteSavedModel = remove;
    }
  }

  const releaseTitle =
    'releaseTrainingGraph and disposeDcgan free the native session; ' +
    'a recompile replaces the graph and starts fresh optimizer state';
  it(releaseTitle, async () => {
    await watchSessions(async (log) => {
      const model = buildConvAutoencoder({ seed: 12 });
      const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 5);
      const step = compiled(model);
      // Adam's first step eager (it makes the slots), then the graph: a session from the second step on.
      for (let i = 0; i < 5; i++) await step.trainOnBatch(x, x);
      assert.equal(log.loaded.length, 1, 'one session for the graph steps');
      releaseTrainingGraph(model);
      assert.deepEqual(log.deleted, log.loaded, 'releaseTrainingGraph deleted that session');
      await step.trainOnBatch(x, x);
      assert.equal(log.loaded.length, 2, 'the next step starts a session again (from the same trace)');

      // Recompiling: a new optimizer. The next step replaces the session, and its Adam state
      // starts at zero, as an eager step of a model compiled the same way does.
      const twin = buildConvAutoencoder({ seed: 13 });
      twin.setWeights(model.getWeights());
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
      twin.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
      for (let i = 0; i < 5; i++) {
        const graphLoss = await step.trainOnBatch(x, x);
        const eagerLoss = (await twin.trainOnBatch(x, x)) as number;
        assert.ok(Math.abs(graphLoss - eagerLoss) < 1e-5, `step ${i}: graph ${graphLoss}, eager ${eagerLoss}`);
      }
      assert.equal(log.loaded.length, 3, 'the recompiled model got a new graph');
      assert.ok(log.deleted.includes(log.loaded[1]), 'and the old session was deleted');
      // Fused Adam in the graph rounds differently from tfjs's ops, and Adam scales a near-zero gradient's
      // rounding to a step of lr (0.01): seen 1.9e-3 after four graph steps. A stale optimizer state
      // would be off by whole steps on every weight, and the losses above agree to 1e-5.
      const drift = maxDifference(model.getWeights(), twin.getWeights());
      assert.ok(drift < 5e-3, `same updates from fresh Adam state (weights differ by ${drift})`);
      releaseTrainingGraph(model);
      model.dispose();
      twin.dispose();

      const gan = createDcgan({ seed: 14 });
      const images = tf.randomUniform([16, 28, 28, 1], -1, 1, 'float32', 6) as Tensor4D;
      const before = log.loaded.length;
      await trainGan(gan, images, { iterations: 4, batchSize: 4, seed: 1, progress: false });
      // D's step, G's predict and the combined step join one session as each is compiled; one stays.
      const ganSessions = log.loaded.slice(before);
      const live = ganSessions.filter((id) => !log.deleted.includes(id));
      assert.equal(live.length, 1, `the GAN trains in one session (loaded ${ganSessions}, deleted ${log.deleted})`);
      const ganSession = live[0];
      disposeDcgan(gan);
      assert.ok(log.deleted.includes(ganSession), 'disposeDcgan deleted it');
      tf.dispose([x, images]);
    });
  });

  it('trainGan takes up weights changed in onSample and a learning rate changed in onIteration', async () => {
    const gan = createDcgan({ seed: 15 });
    const images = tf.randomUniform([32, 28, 28, 1], -1, 1, 'float32', 7) as Tensor4D;
    const samples: Float32Array[] = [];
    const trainable = () =>
      [...gan.generator.trainableWeights, ...gan.discriminator.trainableWeights].map((w) => w.read().clone());
    let frozenAt: Tensor[] | undefined;
    await trainGan(gan, images, {
      iterations: 5,
      batchSize: 4,
      seed: 2,
      progress: false,
      sampleInterval: 1,
      sampleCount: 4,
      onSample: ({ iteration, images: pixels }) => {
        samples.push(pixels);
        if (iteration === 0) {
          // A huge bias before tanh: every pixel of the next samples is 1, if the change reached the session.
          const last = gan.generator.layers[gan.generator.layers.length - 1];
          const [kernel, bias] = last.getWeights();
          last.setWeights([kernel, tf.fill(bias.shape, 1000)]);
        }
      },
      onIteration: ({ iteration }) => {
        if (iteration === 2) {
          (gan.discriminator.optimizer as unknown as { learningRate: number }).learningRate = 0;
          (gan.combined.optimizer as unknown as { learningRate: number }).learningRate = 0;
          frozenAt = trainable();
        }
      },
    });
    assert.ok(
      samples[0].some((v) => v < 0.99),
      'the first samples are ordinary images',
    );
    assert.ok(
      samples[1].every((v) => v > 0.999),
      'the bias set in onSample reached the next samples',
    );
    assert.ok(frozenAt);
    assert.equal(
      maxDifference(frozenAt, trainable()),
      0,
      'with learning rate 0 from iteration 3 on, no trainable weight moved',
    );
    tf.dispose([images, ...frozenAt]);
    disposeDcgan(gan);
  });
});
