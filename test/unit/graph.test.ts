/**
 * The graph engine (lib/graph, train/engine.ts): the protobuf writer, traced graph training against
 * tfjs's eager training on the same weights, syncing back to tfjs, the GAN's freeze, dropout
 * seeding, tensor accounting and the fallback for steps it cannot compile.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LayersModel, SymbolicTensor, Tensor, Tensor4D } from '@tensorflow/tfjs-node';
import { buildConvAutoencoder2d, createDcgan, disposeDcgan, tf, fit, trainGan } from '../../lib';
import { buildConvAutoencoder, buildDiscriminator, buildGenerator, compileGan } from '../../lib/models';
import { DenseAutoencoder } from '../fixtures/denseAutoencoder';
import { GraphBuilder } from '../../lib/graph/builder';
import { ProtoWriter } from '../../lib/graph/proto';
import { UnsupportedModelError } from '../../lib/graph/errors';
import { compiled } from '../../lib/train/engine';

function maxAbsDifference(a: Tensor[], b: Tensor[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]))).dataSync()[0])));
}

/** Two copies of a model with the same weights. */
function twins(build: () => LayersModel): [LayersModel, LayersModel] {
  const a = build();
  const b = build();
  b.setWeights(a.getWeights());
  return [a, b];
}

/**
 * Trains `eager` with tfjs's trainOnBatch and `graph` with compiled(graph, { engine: 'graph' }) on the
 * same batches (its first step runs eagerly, making Adam's slots, the rest as a graph); returns
 * each step's [loss, ...metrics] on both, and the losses alone.
 */
async function trainBoth(eager: LayersModel, graph: LayersModel, batches: Array<[Tensor, Tensor]>) {
  const eagerResults: number[][] = [];
  for (const [x, y] of batches) {
    const result = await eager.trainOnBatch(x, y);
    eagerResults.push(Array.isArray(result) ? result : [result]);
  }
  const step = compiled(graph, { engine: 'graph' });
  const graphResults: number[][] = [];
  for (const [x, y] of batches) graphResults.push(await step.trainOnBatchWithMetrics(x, y));
  assert.equal(step.engine, 'graph');
  return {
    eagerResults,
    graphResults,
    eagerLosses: eagerResults.map((r) => r[0]),
    graphLosses: graphResults.map((r) => r[0]),
  };
}

describe('ProtoWriter', () => {
  it('writes varints, negative int64s, floats, strings and packed fields as protobuf does', () => {
    assert.deepEqual([...new ProtoWriter().int(1, 300).finish()], [0x08, 0xac, 0x02]);
    assert.deepEqual(
      [...new ProtoWriter().int(2, -1).finish()],
      [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    );
    assert.deepEqual([...new ProtoWriter().float(4, 1).finish()], [0x25, 0x00, 0x00, 0x80, 0x3f]);
    assert.deepEqual([...new ProtoWriter().string(1, 'ab').finish()], [0x0a, 0x02, 0x61, 0x62]);
    assert.deepEqual([...new ProtoWriter().packedInts(3, [1, 150]).finish()], [0x1a, 0x03, 0x01, 0x96, 0x01]);
  });
});

describe('graph engine against eager tfjs', () => {
  it('conv autoencoder (SPEC B): same losses and weights after 6 Adam steps (5 of them graph steps)', async () => {
    const [eager, graph] = twins(() => buildConvAutoencoder({ seed: 4 }));
    const batches = [0, 1, 2, 3, 4, 5].map((i) => {
      const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', i);
      return [x, x] as [Tensor, Tensor];
    });
    const { eagerLosses, graphLosses } = await trainBoth(eager, graph, batches);
    eagerLosses.forEach((loss, i) =>
      assert.ok(Math.abs(loss - graphLosses[i]) < 1e-5, `step ${i}: eager ${loss}, graph ${graphLosses[i]}`),
    );
    const difference = maxAbsDifference(eager.getWeights(), graph.getWeights());
    assert.ok(difference < 1e-5, `weights differ by ${difference}`);
    // Adam's state came back under tfjs's names, with the step count.
    const [eagerState, graphState] = [await eager.optimizer.getWeights(), await graph.optimizer.getWeights()];
    const names = graph.trainableWeights.map((w) => w.name);
    assert.deepEqual(
      graphState.map((w) => w.name),
      ['iter', ...names.map((n) => `${n}/m`), ...names.map((n) => `${n}/v`)],
    );
    assert.equal(eagerState.length, graphState.length);
    assert.equal(graphState[0].tensor.dataSync()[0], 6);
    assert.ok(
      maxAbsDifference(
        eagerState.map((w) => w.tensor),
        graphState.map((w) => w.tensor),
      ) < 1e-6,
    );
    tf.dispose([eagerState[0].tensor, graphState[0].tensor]);
    tf.dispose(batches.map(([x]) => x));
    eager.dispose();
    graph.dispose();
  });

  const denseTitle =
    'dense autoencoder (SPEC C, Adadelta, accuracy): same losses, accuracies, weights and Adadelta state after 6 steps';
  it(denseTitle, async () => {
    const build = () => new DenseAutoencoder({ seed: 6 }).model;
    const [eager, graph] = twins(build);
    const x = tf.randomUniform([32, 784], 0, 1, 'float32', 6).round();
    const { eagerResults, graphResults } = await trainBoth(
      eager,
      graph,
      [0, 1, 2, 3, 4, 5].map(() => [x, x] as [Tensor, Tensor]),
    );
    graphResults.forEach((values, i) => {
      assert.equal(values.length, 2);
      values.forEach((v, j) =>
        assert.ok(
          Math.abs(v - eagerResults[i][j]) < 1e-5,
          `step ${i}, ${graph.metricsNames[j]}: eager ${eagerResults[i][j]}, graph ${v}`,
        ),
      );
    });
    assert.ok(eagerResults[3][1] > 0.3, 'accuracy is a real number of matches, not 0');
    assert.ok(maxAbsDifference(eager.getWeights(), graph.getWeights()) < 1e-5);
    const [eagerState, graphState] = [await eager.optimizer.getWeights(), await graph.optimizer.getWeights()];
    const names = graph.trainableWeights.map((w) => w.name);
    assert.deepEqual(
      graphState.map((w) => w.name),
      ['iter', ...names.map((n) => `${n}/accum_grad`), ...names.map((n) => `${n}/accum_var`)],
    );
    assert.ok(
      maxAbsDifference(
        eagerState.slice(1).map((w) => w.tensor),
        graphState.slice(1).map((w) => w.tensor),
      ) < 1e-6,
    );
    tf.dispose([x, eagerState[0].tensor, graphState[0].tensor]);
    eager.dispose();
    graph.dispose();
  });

  const generatorLikeTitle =
    'a generator-like chain (Dense and Conv2D without bias, LeakyReLU, BatchNorm on rank 2 and 4, UpSampling, ' +
    "MaxPool, ReLU, Conv2DTranspose, MSE) matches, moving statistics included, with TensorFlow's fused " +
    'BatchNorm and ReLU gradient kernels in the graph';
  it(generatorLikeTitle, async () => {
    const build = () => {
      const model = tf.sequential({
        layers: [
          // No bias here either: when a unit's whole batch stays on one side of the LeakyReLU,
          // the BatchNormalization after it cancels any shift, so the bias gradient is rounding
          // noise, which Adam turns into steps of either sign (seen: up to 2.6e-4 in 3 steps).
          tf.layers.dense({
            inputShape: [6],
            units: 4 * 4 * 3,
            useBias: false,
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.leakyReLU({ alpha: 0.2 }),
          tf.layers.batchNormalization({ momentum: 0.8 }),
          tf.layers.reshape({ targetShape: [4, 4, 3] }),
          tf.layers.upSampling2d({ size: [2, 2] }),
          // No bias straight before BatchNormalization: its gradient is zero up to rounding,
          // and Adam turns rounding noise into full-size steps of either sign.
          tf.layers.conv2d({
            filters: 4,
            kernelSize: 3,
            padding: 'same',
            useBias: false,
            kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
          }),
          tf.layers.batchNormalization(),
          tf.layers.leakyReLU(),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.reLU(),
          tf.layers.conv2dTranspose({
            filters: 2,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'tanh',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          }),
        ],
      });
      // Adam scales every gradient to about lr, rounding noise included, so lr bounds how far
      // two correct implementations can drift; a wrong gradient would be off by about lr per step.
      model.compile({ optimizer: tf.train.adam(0.001, 0.5, 0.999, 1e-7), loss: 'meanSquaredError' });
      return model;
    };
    const [eager, graph] = twins(build);
    const batches = [0, 1, 2, 3, 4, 5].map(
      (i) =>
        [tf.randomNormal([5, 6], 0, 1, 'float32', i), tf.randomUniform([5, 8, 8, 2], -1, 1, 'float32', 10 + i)] as [
          Tensor,
          Tensor,
        ],
    );
    // The ops of the graph the session runs.
    const ops: string[] = [];
    const addOp = GraphBuilder.prototype.op;
    GraphBuilder.prototype.op = function (this: GraphBuilder, op, ...rest) {
      ops.push(op);
      return addOp.call(this, op, ...rest);
    };
    let losses: Awaited<ReturnType<typeof trainBoth>>;
    try {
      losses = await trainBoth(eager, graph, batches);
    } finally {
      GraphBuilder.prototype.op = addOp;
    }
    const count = (op: string) => ops.filter((name) => name === op).length;
    // Both BatchNormalizations and their gradients as TensorFlow's fused kernels, not tfjs's moments
    // and elementwise gradient (which takes Rsqrt); ReLU's gradient as ReluGrad.
    assert.deepEqual(['FusedBatchNormV3', 'FusedBatchNormGradV3', 'ReluGrad', 'Rsqrt'].map(count), [2, 2, 1, 0]);
    const { eagerLosses, graphLosses } = losses;
    eagerLosses.forEach((loss, i) =>
      assert.ok(Math.abs(loss - graphLosses[i]) < 1e-5, `step ${i}: eager ${loss}, graph ${graphLosses[i]}`),
    );
    // getWeights includes BatchNormalization's moving mean and variance.
    const difference = maxAbsDifference(eager.getWeights(), graph.getWeights());
    assert.ok(difference < 4e-4, `weights differ by ${difference} (6 steps of lr 0.001)`);
    tf.dispose(batches.flat());
    eager.dispose();
    graph.dispose();
  });
});

describe('fit with the graph engine', () => {
  it('keeps numTensors flat, syncs the weights each epoch and matches the eager engine', async () => {
    const x = tf.randomUniform([40, 28, 28, 1], 0, 1, 'float32', 7);
    const [eagerModel, graphModel] = twins(() => buildConvAutoencoder({ seed: 9 }));
    const counts: number[] = [];
    const epochWeights: number[] = [];
    const options = { epochs: 3, batchSize: 16, seed: 3, progress: false, validationData: x };
    const eager = await fit(eagerModel, x, { ...options, engine: 'eager' });
    const graph = await fit(graphModel, x, {
      ...options,
      engine: 'graph',
      onBatch: () => {
        counts.push(tf.memory().numTensors);
      },
      // The tfjs model is up to date in onEpoch: its first kernel changes from epoch to epoch.
      onEpoch: () => {
        epochWeights.push(graphModel.layers[0].getWeights()[0].dataSync()[0]);
      },
    });
    // The first (eager) step creates Adam's moments; from then on, graph steps, the count stays put.
    assert.equal(counts.length, 9);
    assert.equal(new Set(counts).size, 1, `numTensors per batch: ${counts}`);
    assert.notEqual(epochWeights[0], epochWeights[1]);
    for (const key of ['loss', 'valLoss'] as const) {
      eager[key].forEach((value, i) =>
        assert.ok(Math.abs(value - graph[key][i]) < 1e-5, `${key}[${i}]: eager ${value}, graph ${graph[key][i]}`),
      );
    }
    // Nine steps: weights whose gradients are near zero (first layers) drift by rounding, each
    // step at most lr = 0.001; a wrong update would be off by whole steps.
    const difference = maxAbsDifference(eagerModel.getWeights(), graphModel.getWeights());
    assert.ok(difference < 2e-4, `weights differ by ${difference}`);
    eagerModel.dispose();
    graphModel.dispose();
    x.dispose();
  });

  const secondCallTitle =
    'a second call continues from the model as it is now: new weights and a new learning rate are picked up';
  it(secondCallTitle, async () => {
    const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 5);
    const model = buildConvAutoencoder({ seed: 5 });
    const options = { epochs: 1, batchSize: 8, seed: 1, progress: false, engine: 'graph' as const };
    await fit(model, x, options);
    // Weights set between calls are what the next call trains from ...
    const reset = model.getWeights().map((w) => tf.zerosLike(w));
    model.setWeights(reset);
    // ... and with a learning rate of 0 they stay where they are.
    (model.optimizer as unknown as { learningRate: number }).learningRate = 0;
    await fit(model, x, options);
    assert.equal(maxAbsDifference(model.getWeights(), reset), 0);
    tf.dispose(reset);
    model.dispose();
    x.dispose();
  });

  it('changes made in onEpoch count: a learning rate of 0 stops training, new weights are trained from', async () => {
    const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 6);
    const model = buildConvAutoencoder({ seed: 6 });
    const firstKernel = () => Float32Array.from(model.layers[0].getWeights()[0].dataSync());
    const seen: Float32Array[] = [];
    await fit(model, x, {
      epochs: 3,
      batchSize: 8,
      seed: 1,
      progress: false,
      engine: 'graph',
      onEpoch: ({ epoch }) => {
        seen.push(firstKernel());
        if (epoch === 0) (model.optimizer as unknown as { learningRate: number }).learningRate = 0;
        if (epoch === 1) {
          const [kernel, bias] = model.layers[0].getWeights();
          const ones = tf.onesLike(kernel);
          model.layers[0].setWeights([ones, bias]);
          ones.dispose();
        }
      },
    });
    assert.deepEqual(seen[1], seen[0], 'epoch 1 ran at learning rate 0');
    assert.ok(
      seen[2].every((v) => v === 1),
      'epoch 2 trained from the weights set in onEpoch (still at rate 0)',
    );
    model.dispose();
    x.dispose();
  });

  it('integer inputs and targets train as in trainOnBatch (cast to float32)', async () => {
    const [eager, graph] = twins(() => buildConvAutoencoder({ seed: 8 }));
    const xInt = tf.randomUniform([8, 28, 28, 1], 0, 2, 'int32', 8);
    const options = { epochs: 1, batchSize: 4, seed: 1, progress: false, shuffle: false };
    const eagerHistory = await fit(eager, xInt, { ...options, engine: 'eager' });
    const graphHistory = await fit(graph, xInt, { ...options, engine: 'graph' });
    assert.ok(
      Math.abs(eagerHistory.loss[0] - graphHistory.loss[0]) < 1e-5,
      `eager ${eagerHistory.loss[0]}, graph ${graphHistory.loss[0]}`,
    );
    tf.dispose([xInt]);
    eager.dispose();
    graph.dispose();
  });

  for (const engine of ['graph', 'eager'] as const) {
    const dropoutTitle =
      `${engine} engine: dropout masks follow the seed: unshuffled, the same seed repeats the losses, ` +
      'another seed and a dropout-free copy change them';
    it(dropoutTitle, async () => {
      // shuffle: false, so the seed reaches nothing but the dropout masks (a learning rate of 0.01 makes them show).
      const x = tf.randomUniform([24, 28, 28, 1], 0, 1, 'float32', 8);
      const start = buildConvAutoencoder2d({ seed: 2, dropout: true }).model;
      const startWeights = start.getWeights().map((w) => w.clone());
      start.dispose();
      const run = async (seed: number, dropout: boolean) => {
        const { model } = buildConvAutoencoder2d({ dropout, learningRate: 0.01 });
        model.setWeights(startWeights); // Dropout has no weights: every run starts from the same ones
        const history = await fit(model, x, { epochs: 2, batchSize: 8, seed, shuffle: false, progress: false, engine });
        model.optimizer.dispose();
        model.dispose();
        return history.loss;
      };
      const differ = (a: number[], b: number[]) => a.some((value, i) => Math.abs(value - b[i]) > 1e-6);
      const first = await run(1, true);
      assert.deepEqual(await run(1, true), first, 'the same seed, the same masks');
      const other = await run(2, true);
      assert.ok(differ(other, first), `seed 2 gave seed 1's losses: ${other.join(', ')}`);
      const withoutDropout = await run(1, false);
      assert.ok(
        differ(withoutDropout, first) && differ(withoutDropout, other),
        `dropout changed nothing: ${withoutDropout.join(', ')}`,
      );
      tf.dispose([x, ...startWeights]);
    });
  }
});

describe('the GAN on the graph engine', () => {
  it("D's step trains only D, the combined step only G (the frozen D), and sampling changes nothing", async () => {
    const gan = createDcgan({ seed: 11 });
    const d = compiled(gan.discriminator, { engine: 'graph' });
    const g = compiled(gan.generator, { engine: 'graph' });
    const combined = compiled(gan.combined, { engine: 'graph' });
    assert.deepEqual([d.engine, g.engine, combined.engine], ['graph', 'graph', 'graph']);
    const snapshot = () => ({
      g: gan.generator.getWeights().map((w) => w.clone()),
      d: gan.discriminator.getWeights().map((w) => w.clone()),
    });
    const noise = tf.randomNormal([4, 100], 0, 1, 'float32', 1);
    const labels = tf.ones([4, 1]);
    const images = tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 2);
    const start = snapshot();

    const sampleA = g.predict(noise);
    const sampleB = g.predict(noise);
    assert.equal(
      maxAbsDifference([sampleA], [sampleB]),
      0,
      'inference is deterministic (no dropout, moving statistics)',
    );
    await d.trainOnBatch(images, labels, { dropoutSeed: 1 });
    // getWeights (in snapshot) reads the session's newest values: no explicit sync.
    const afterD = snapshot();
    assert.equal(maxAbsDifference(start.g, afterD.g), 0, "D's step left G alone");
    assert.ok(maxAbsDifference(start.d, afterD.d) > 0, "D's step trained D");

    await combined.trainOnBatch(noise, labels, { dropoutSeed: 2 });
    const afterG = snapshot();
    assert.equal(maxAbsDifference(afterD.d, afterG.d), 0, 'the combined step left D alone');
    assert.ok(maxAbsDifference(afterD.g, afterG.g) > 0, 'the combined step trained G (and its BatchNorm statistics)');

    tf.dispose([
      noise,
      labels,
      images,
      sampleA,
      sampleB,
      ...start.g,
      ...start.d,
      ...afterD.g,
      ...afterD.d,
      ...afterG.g,
      ...afterG.d,
    ]);
    disposeDcgan(gan);
  });
});

describe('trainGan, graph against eager', () => {
  const sameLossesTitle =
    "gives the same losses on both engines, D's dropout included " +
    '(both draw the same batches, noise and dropout masks from the seed)';
  it(sameLossesTitle, async () => {
    const make = () => compileGan(buildGenerator({ seed: 3 }), buildDiscriminator({ seed: 3 }));
    const [eagerGan, graphGan] = [make(), make()];
    graphGan.generator.setWeights(eagerGan.generator.getWeights());
    graphGan.discriminator.setWeights(eagerGan.discriminator.getWeights());
    const images = tf.randomUniform([64, 28, 28, 1], -1, 1, 'float32', 4) as Tensor4D;
    const options = { iterations: 6, batchSize: 8, seed: 12, progress: false };
    const eager = await trainGan(eagerGan, images, { ...options, engine: 'eager' });
    const graph = await trainGan(graphGan, images, { ...options, engine: 'graph' });
    // The graph updates with TensorFlow's fused Adam, which rounds differently from tfjs's dozen ops
    // (m + (g - m)(1 - beta1) for beta1 m + (1 - beta1) g); Adam turns such rounding into steps of
    // size lr, so the losses drift apart as training goes on: about 1e-5 in the first iterations,
    // 3e-3 by the sixth here; the first iterations, graph steps included, are held to 1e-4.
    for (const key of ['dLossReal', 'dLossFake', 'gLoss'] as const) {
      eager[key].forEach((value, i) => {
        const tolerance = i < 4 ? 1e-4 : 1e-2;
        assert.ok(Math.abs(value - graph[key][i]) < tolerance, `${key}[${i}]: eager ${value}, graph ${graph[key][i]}`);
      });
    }
    images.dispose();
    disposeDcgan(eagerGan);
    disposeDcgan(graphGan);
  });
});

describe('engine choice', () => {
  it('a step that reads a value back to JavaScript trains eagerly under auto, and says why; graph throws', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    // A loss that turns a tensor into a JavaScript number inside the step cannot be a graph.
    const readingLoss = (yTrue: Tensor, yPred: Tensor) =>
      tf.mul(tf.losses.meanSquaredError(yTrue, yPred), tf.max(yPred).dataSync()[0] > 0 ? 1 : 1);
    model.compile({ optimizer: 'adam', loss: readingLoss });
    const x = tf.ones([4, 3]);
    const y = tf.zeros([4, 2]);
    const warnings: string[] = [];
    const savedWarn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
    try {
      const auto = compiled(model);
      assert.equal(auto.engine, 'graph', 'graph until a trace says otherwise');
      for (let i = 0; i < 4; i++) assert.ok(Number.isFinite(await auto.trainOnBatch(x, y)));
      assert.equal(auto.engine, 'eager');
      assert.match(auto.reason, /reads a tensor back to JavaScript/);
      assert.match(warnings.join('\n'), /compiled\(\w+\): the step reads a tensor back/);
      // The optimizer has its slots already, so the first call is traced, and refused.
      const insisting = compiled(model, { engine: 'graph' });
      await assert.rejects(insisting.trainOnBatch(x, y), UnsupportedModelError);
    } finally {
      console.warn = savedWarn;
      tf.dispose([x, y]);
      model.dispose();
    }
    assert.throws(
      () => compiled(model, { engine: 'fast' as never }),
      /options\.engine must be 'auto', 'graph' or 'eager'/,
    );
  });

  it('a layer applied twice (shared weights) and an unlisted activation compile, matching eager', async () => {
    const build = () => {
      const input = tf.input({ shape: [4] });
      const shared = tf.layers.dense({
        units: 4,
        activation: 'elu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      });
      const model = tf.model({ inputs: input, outputs: shared.apply(shared.apply(input)) as SymbolicTensor });
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      return model;
    };
    const [eager, graph] = twins(build);
    const x = tf.randomNormal([8, 4], 0, 1, 'float32', 3);
    const { eagerLosses, graphLosses } = await trainBoth(
      eager,
      graph,
      [0, 1, 2, 3, 4, 5].map(() => [x, x] as [Tensor, Tensor]),
    );
    eagerLosses.forEach((loss, i) =>
      assert.ok(Math.abs(loss - graphLosses[i]) < 1e-6, `step ${i}: ${loss} vs ${graphLosses[i]}`),
    );
    assert.ok(maxAbsDifference(eager.getWeights(), graph.getWeights()) < 1e-6);
    x.dispose();
    eager.dispose();
    graph.dispose();
  });

  it('under auto, a graph that cannot start trains eagerly and says so on stderr; engine graph throws', async () => {
    const model = buildConvAutoencoder({ seed: 2 });
    // Six batches: the graph starts at the second step, after Adam's first (eager) one.
    const x = tf.randomUniform([24, 28, 28, 1], 0, 1, 'float32', 2);
    const options = { epochs: 1, batchSize: 4, seed: 1, progress: false };
    const savedTmp = process.env.TMPDIR;
    const savedWarn = console.warn;
    const warnings: string[] = [];
    // The SavedModel goes to a temporary folder first; make that impossible.
    process.env.TMPDIR = '/nonexistent/gan-notebooks-test';
    console.warn = (...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
    };
    try {
      await assert.rejects(fit(model, x, { ...options, engine: 'graph' }), /ENOENT/);
      const history = await fit(model, x, options);
      assert.equal(history.loss.length, 1);
      assert.ok(Number.isFinite(history.loss[0]));
      assert.match(
        warnings.join('\n'),
        new RegExp(
          /compiled\(\w+\): the graph engine could not start \(ENOENT.*\); /.source +
            /running on tfjs's eager engine instead/.source,
        ),
      );
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      console.warn = savedWarn;
      model.dispose();
      x.dispose();
    }
  });

  it("reading the optimizer's state first (getWeights) sees the graph steps' Adam slots", async () => {
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
        ],
      });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      return model;
    };
    const [graphModel, eagerModel] = twins(build);
    const x = tf.randomNormal([8, 3], 0, 1, 'float32', 6);
    const y = tf.randomNormal([8, 2], 0, 1, 'float32', 7);
    const step = compiled(graphModel, { engine: 'graph' });
    for (let i = 0; i < 5; i++) {
      await step.trainOnBatch(x, y);
      await eagerModel.trainOnBatch(x, y);
    }
    // No model weight is read before: the slots alone must bring the session's values back.
    const [graphState, eagerState] = [await graphModel.optimizer.getWeights(), await eagerModel.optimizer.getWeights()];
    const slots = (state: Array<{ tensor: Tensor }>) => state.slice(1).map((w) => w.tensor);
    assert.ok(maxAbsDifference(slots(graphState), slots(eagerState)) < 1e-6, 'the Adam slots are the trained ones');
    tf.dispose([x, y, graphState[0].tensor, eagerState[0].tensor]);
    graphModel.dispose();
    eagerModel.dispose();
  });

  const nestedTitle =
    "a compiled step called inside another step's loss runs as the outer step's ops (not a constant of its " +
    'traced output): the trained weights match eager training';
  it(nestedTitle, async () => {
    const build = () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
        ],
      });
      return model;
    };
    const [graphModel, eagerModel] = twins(build);
    const x = tf.randomNormal([8, 3], 0, 1, 'float32', 8);
    const y = tf.randomNormal([8, 2], 0, 1, 'float32', 9);
    const inner = compiled(graphModel);
    for (let i = 0; i < 3; i++) tf.dispose(inner.predict(x)); // the inner predict has its own graph now
    const step = compiled([graphModel], {
      loss: (batch: Tensor, target: Tensor) => tf.losses.meanSquaredError(target, compiled(graphModel).predict(batch)),
      optimizer: tf.train.sgd(0.1),
      engine: 'graph',
    });
    const optimizer = tf.train.sgd(0.1);
    const eagerWeights = eagerModel.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let i = 0; i < 5; i++) {
      const graphLoss = (await step.trainOnBatch(x, y)).loss;
      const cost = optimizer.minimize(
        () => tf.losses.meanSquaredError(y, eagerModel.predict(x) as Tensor) as tf.Scalar,
        true,
        eagerWeights,
      ) as tf.Scalar;
      const eagerLoss = cost.dataSync()[0];
      cost.dispose();
      assert.ok(Math.abs(graphLoss - eagerLoss) < 1e-5, `step ${i}: graph ${graphLoss}, eager ${eagerLoss}`);
    }
    assert.ok(maxAbsDifference(graphModel.getWeights(), eagerModel.getWeights()) < 1e-5);
    tf.dispose([x, y]);
    graphModel.dispose();
    eagerModel.dispose();
  });

  const frozenTitle =
    "a layer of D frozen now (trainable = false after compiling) compiles afresh: D's step then leaves it, as eagerly";
  it(frozenTitle, async () => {
    const gan = createDcgan({ seed: 1 });
    const d = compiled(gan.discriminator, { engine: 'graph' });
    const images = tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 5);
    const labels = tf.ones([4, 1]);
    for (let i = 0; i < 4; i++) await d.trainOnBatch(images, labels);
    const [first, ...rest] = gan.discriminator.layers.filter((layer) => layer.weights.length > 0);
    first.trainable = false;
    const before = [first, ...rest].map((layer) => layer.getWeights()[0].clone());
    for (let i = 0; i < 4; i++) await d.trainOnBatch(images, labels);
    const after = [first, ...rest].map((layer) => layer.getWeights()[0]);
    assert.equal(maxAbsDifference([before[0]], [after[0]]), 0, 'the frozen layer did not move');
    assert.ok(maxAbsDifference(before.slice(1), after.slice(1)) > 0, 'the other layers trained');
    assert.equal(d.engine, 'graph');
    tf.dispose([images, labels, ...before]);
    disposeDcgan(gan);
  });
});
