/**
 * The variational autoencoder: parameter counts, the loss written in tfjs ops against a plain
 * computation, the graph step against the eager one (losses and weights after a step), weights
 * in sync with tfjs and with compiled(), no tensor left behind, and errors for bad input.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { LayersModel, Scalar, SymbolicTensor, Tensor } from '@tensorflow/tfjs-node';
import * as lib from '../../lib';
import { tf, buildConvAutoencoder2d, compiled, compiledVae } from '../../lib';
import { buildConvVae2d } from '../../lib/models';
import { vaeLossTerms } from '../../lib/train';
import { runCellSource, taggedSource } from '../../tools/ipynb';

type NotebookLoss = (x: Tensor, eps: Tensor) => { loss: Scalar; reconstruction: Scalar; kl: Scalar };

/** Runs 05-vae's parameters cell and its cells tagged `model`; returns what they define. */
function notebookVae(): {
  encoder: LayersModel;
  decoder: LayersModel;
  vaeLoss: NotebookLoss;
  reconstructionWeight: number;
} {
  const source = taggedSource(path.join(__dirname, '..', '..', 'notebooks', '05-vae.ipynb'), ['parameters', 'model']);
  return runCellSource(`${source}\nreturn { encoder, decoder, vaeLoss, reconstructionWeight };`, { ...lib });
}

function layerShapes(model: LayersModel) {
  return model.layers.map(
    (layer) => `${layer.getClassName()} ${JSON.stringify(layer.outputShape)} ${layer.countParams()}`,
  );
}

function maxDifference(a: Tensor[], b: Tensor[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((t, i) => tf.tidy(() => t.sub(b[i]).abs().max().dataSync()[0])));
}

function weightsOf(...models: LayersModel[]): Tensor[] {
  return models.flatMap((model) => model.getWeights());
}

function dispose(...models: LayersModel[]): void {
  models.forEach((model) => model.dispose());
}

describe('buildConvVae2d', () => {
  it("has SPEC D's stacks with a second Dense head: encoder 105,220, decoder 102,017 parameters", () => {
    const { encoder, decoder } = buildConvVae2d();
    const ae = buildConvAutoencoder2d({ compile: false });
    try {
      assert.equal(encoder.countParams(), 105_220);
      assert.equal(decoder.countParams(), 102_017);
      assert.equal(
        encoder.countParams() - ae.encoder.countParams(),
        6_274,
        'one more 3,136 x 2 + 2 head than the plain encoder',
      );
      assert.equal(decoder.countParams(), ae.decoder.countParams());
      assert.deepEqual(
        encoder.outputs.map((o) => o.shape),
        [
          [null, 2],
          [null, 2],
        ],
      );
      assert.deepEqual(decoder.outputs[0].shape, [null, 28, 28, 1]);
    } finally {
      dispose(encoder, decoder, ae.model);
    }
  });
});

describe('vaeLossTerms', () => {
  const lossTitle =
    'is weight * per-image MSE plus KL = -0.5 * sum(1 + logVar - mean^2 - exp(logVar)), averaged over the batch';
  it(lossTitle, () => {
    const { encoder, decoder } = buildConvVae2d({ seed: 1 });
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 2);
    const noise = tf.tensor2d([
      [0.5, -1],
      [2, 0],
      [-0.3, 0.7],
    ]);
    const terms = vaeLossTerms(encoder, decoder, x, noise, 250);
    // The same numbers computed by hand from the models' outputs.
    const [mean, logVar] = (encoder.predict(x) as Tensor[]).map((t) => Array.from(t.dataSync()));
    const eps = Array.from(noise.dataSync());
    const z = tf.tensor2d(
      mean.map((m, i) => m + Math.exp(logVar[i] / 2) * eps[i]),
      [3, 2],
    );
    const rebuilt = (decoder.predict(z) as Tensor).dataSync();
    const pixels = x.dataSync();
    let reconstruction = 0;
    for (let image = 0; image < 3; image++) {
      let squared = 0;
      for (let p = 0; p < 784; p++) squared += (pixels[image * 784 + p] - rebuilt[image * 784 + p]) ** 2;
      reconstruction += (250 * squared) / 784 / 3;
    }
    const kl = mean.reduce((sum, m, i) => sum - (0.5 * (1 + logVar[i] - m * m - Math.exp(logVar[i]))) / 3, 0);
    assert.ok(Math.abs(terms.reconstruction.dataSync()[0] - reconstruction) < 1e-3 * reconstruction);
    assert.ok(Math.abs(terms.kl.dataSync()[0] - kl) < 1e-5 + 1e-4 * Math.abs(kl));
    assert.ok(Math.abs(terms.loss.dataSync()[0] - (reconstruction + kl)) < 1e-3 * reconstruction);
    tf.dispose([x, noise, z, terms.loss, terms.reconstruction, terms.kl]);
    dispose(encoder, decoder);
  });
});

describe('compiledVae', () => {
  it('trains on the graph engine with the eager loss: same losses, and the same weights after two steps', async () => {
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 3);
    const noise = tf.randomNormal([8, 2], 0, 1, 'float32', 4);
    const runs: Record<string, { losses: number[][]; weights: Tensor[]; reference: number }> = {};
    for (const engine of ['graph', 'eager'] as const) {
      const { encoder, decoder } = buildConvVae2d({ seed: 5 });
      const vae = compiledVae({ encoder, decoder, optimizer: tf.train.adam(0.001), reconstructionWeight: 500, engine });
      assert.equal(vae.engine, engine);
      const reference = vaeLossTerms(encoder, decoder, x, noise, 500);
      const losses = [];
      for (let step = 0; step < 2; step++) {
        const l = await vae.trainOnBatch(x, { noise });
        losses.push([l.loss, l.reconstruction, l.kl]);
      }
      runs[engine] = { losses, weights: weightsOf(encoder, decoder), reference: reference.loss.dataSync()[0] };
      tf.dispose([reference.loss, reference.reconstruction, reference.kl]);
      vae.release();
    }
    const [graph, eager] = [runs.graph, runs.eager];
    assert.ok(
      Math.abs(graph.losses[0][0] - graph.reference) < 1e-4 * graph.reference,
      `graph ${graph.losses[0][0]}, tfjs ops ${graph.reference}`,
    );
    graph.losses
      .flat()
      .forEach((value, i) =>
        assert.ok(
          Math.abs(value - eager.losses.flat()[i]) < 1e-4 * Math.max(1, Math.abs(value)),
          `loss ${i}: graph ${value}, eager ${eager.losses.flat()[i]}`,
        ),
      );
    assert.ok(graph.losses[0][2] > 0 && graph.losses[1][0] < graph.losses[0][0], 'KL is positive and the loss falls');
    assert.ok(maxDifference(graph.weights, eager.weights) < 2e-5, "the graph's gradients and Adam update match tfjs's");
    tf.dispose([x, noise, ...graph.weights, ...eager.weights]);
  });

  it('draws fresh noise per step from its seed: the same seed repeats a run, another seed does not', async () => {
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 6);
    const run = async (seed: number) => {
      const { encoder, decoder } = buildConvVae2d({ seed: 7 });
      const vae = compiledVae({ encoder, decoder, optimizer: tf.train.adam(0.001), seed });
      const losses = [(await vae.trainOnBatch(x)).loss, (await vae.trainOnBatch(x)).loss];
      vae.release();
      dispose(encoder, decoder);
      return losses;
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    x.dispose();
  });

  const syncTitle =
    'keeps tfjs in sync: predict sees the trained weights, setWeights reaches the next step, and so does compiled()';
  it(syncTitle, async () => {
    const { encoder, decoder } = buildConvVae2d({ seed: 8 });
    const vae = compiledVae({ encoder, decoder, optimizer: tf.train.adam(0.01), seed: 1 });
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 9);
    const noise = tf.randomNormal([4, 2], 0, 1, 'float32', 10);
    const z = tf.tensor2d([[0.1, 0.2]]);
    const before = weightsOf(encoder, decoder).map((w) => w.clone());
    const decodedBefore = decoder.predict(z) as Tensor;
    await vae.trainOnBatch(x, { noise });
    const decodedAfter = decoder.predict(z) as Tensor;
    assert.ok(maxDifference([decodedBefore], [decodedAfter]) > 1e-4, 'decoder.predict sees the trained weights');
    // compiled(decoder) runs in its own session and sees the VAE's newest weights too.
    const fromCompiled = compiled(decoder).predict(z);
    assert.ok(maxDifference([fromCompiled], [decodedAfter]) < 1e-5);
    // Back to the starting weights: the next step's loss is the first step's again.
    encoder.setWeights(before.slice(0, encoder.weights.length));
    decoder.setWeights(before.slice(encoder.weights.length));
    const first = await vae.evaluate(x, { noise });
    const reference = vaeLossTerms(encoder, decoder, x, noise, vae.reconstructionWeight);
    assert.ok(
      Math.abs(first.loss - reference.loss.dataSync()[0]) < 1e-4 * first.loss,
      'setWeights reached the session',
    );
    await vae.trainOnBatch(x, { noise });
    const afterCompiled = compiled(decoder).predict(z);
    assert.ok(
      maxDifference([afterCompiled], [decoder.predict(z) as Tensor]) < 1e-5,
      "the decoder's compiled pass follows the VAE's later steps",
    );
    vae.release();
    tf.dispose([
      x,
      noise,
      z,
      ...before,
      decodedBefore,
      decodedAfter,
      fromCompiled,
      afterCompiled,
      reference.loss,
      reference.reconstruction,
      reference.kl,
    ]);
    dispose(encoder, decoder);
  });

  it('keeps tf.memory().numTensors flat over steps and evaluations, on both engines', async () => {
    for (const engine of ['graph', 'eager'] as const) {
      const { encoder, decoder } = buildConvVae2d({ seed: 11 });
      const vae = compiledVae({ encoder, decoder, optimizer: tf.train.adam(0.001), engine, seed: 3 });
      const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 12);
      await vae.trainOnBatch(x);
      encoder.getWeights(); // the first copy back creates the optimizer's slots in tfjs
      const start = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await vae.trainOnBatch(x);
      await vae.evaluate(x, { batchSize: 3 });
      encoder.getWeights();
      assert.equal(tf.memory().numTensors, start, `${engine} engine`);
      vae.release();
      x.dispose();
      dispose(encoder, decoder);
    }
  });

  const rejectsTitle =
    'rejects models and inputs that do not fit, naming what it expects; engine auto says why it trains eagerly';
  it(rejectsTitle, async () => {
    const { encoder, decoder } = buildConvVae2d({ seed: 13 });
    const optimizer = tf.train.adam(0.001);
    const ae = buildConvAutoencoder2d({ compile: false });
    assert.throws(
      () => compiledVae({ encoder: ae.encoder, decoder, optimizer }),
      /encoder "encoder" has 1 inputs and 1 outputs; it must take one image and give two outputs, \[mean, logVar\]/,
    );
    const wideDecoder = buildConvVae2d({ zDim: 3 }).decoder;
    assert.throws(
      () => compiledVae({ encoder, decoder: wideDecoder, optimizer }),
      /decoder "vae_decoder\w*" takes \[batch, 3\]; it must take one code of \[batch, 2\]/,
    );
    assert.throws(
      () => compiledVae({ encoder, decoder, optimizer, reconstructionWeight: 0 }),
      /reconstructionWeight must be a positive number; got 0/,
    );

    const vae = compiledVae({ encoder, decoder, optimizer });
    await assert.rejects(
      vae.trainOnBatch(tf.zeros([2, 28, 28])),
      /x has shape \[2, 28, 28\]; encoder "vae_encoder\w*" takes \[batch, 28, 28, 1\]/,
    );
    await assert.rejects(
      vae.trainOnBatch(tf.zeros([2, 28, 28, 1]), { noise: tf.zeros([3, 2]) }),
      /options\.noise has shape \[3, 2\]; it must be \[2, 2\], one eps per image/,
    );
    // A newer handle on the same models takes over; the old one says so instead of training out of step.
    const newer = compiledVae({ encoder, decoder, optimizer });
    await assert.rejects(
      vae.trainOnBatch(tf.zeros([2, 28, 28, 1])),
      /this handle was replaced by a newer compiledVae on encoder "vae_encoder\w*"/,
    );
    assert.ok(Number.isFinite((await newer.trainOnBatch(tf.zeros([2, 28, 28, 1]))).loss));
    newer.release();

    // An activation the graph engine does not lower: 'auto' warns and trains eagerly; 'graph' throws.
    const input = tf.input({ shape: [28, 28, 1] });
    const flat = tf.layers
      .flatten()
      .apply(tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'elu' }).apply(input)) as SymbolicTensor;
    const eluEncoder = tf.model({
      inputs: input,
      outputs: [
        tf.layers.dense({ units: 2 }).apply(flat) as SymbolicTensor,
        tf.layers.dense({ units: 2 }).apply(flat) as SymbolicTensor,
      ],
    });
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      const eager = compiledVae({ encoder: eluEncoder, decoder, optimizer: tf.train.adam(0.001) });
      assert.equal(eager.engine, 'eager');
      assert.match(eager.reason, /activation "elu" is not supported/);
      assert.match(
        warnings.join('\n'),
        /compiledVae: .*activation "elu".*training with tfjs's eager optimizer\.minimize instead/,
      );
      const losses = await eager.trainOnBatch(tf.randomUniform([2, 28, 28, 1]));
      assert.ok(Number.isFinite(losses.loss));
    } finally {
      console.warn = warn;
    }
    assert.throws(
      () => compiledVae({ encoder: eluEncoder, decoder, optimizer: tf.train.adam(0.001), engine: 'graph' }),
      /the graph engine cannot train these models: .*activation "elu"/,
    );
    dispose(encoder, decoder, ae.model, wideDecoder, eluEncoder);
  });
});

describe("05-vae: the notebook's models and loss", () => {
  const notebookVaeTitle =
    'build what buildConvVae2d builds, ' +
    "and the compiled step computes the notebook's vaeLoss, before and after training";
  it(notebookVaeTitle, async () => {
    const { encoder, decoder, vaeLoss, reconstructionWeight } = notebookVae();
    const library = buildConvVae2d();
    assert.deepEqual(
      layerShapes(encoder),
      layerShapes(library.encoder),
      "notebooks/05-vae.ipynb's encoder and lib/models buildConvVae2d's: change both, or neither",
    );
    assert.deepEqual(layerShapes(decoder), layerShapes(library.decoder), 'the decoders');
    assert.equal(encoder.countParams() + decoder.countParams(), 207_237);
    const x = tf.randomUniform([6, 28, 28, 1], 0, 1, 'float32', 21);
    const eps = tf.randomNormal([6, 2], 0, 1, 'float32', 22);
    const vae = compiledVae({
      encoder,
      decoder,
      optimizer: tf.train.adam(0.001),
      reconstructionWeight,
      engine: 'graph',
    });
    for (let step = 0; step < 2; step++) {
      const written = vaeLoss(x, eps);
      const fromGraph = await vae.evaluate(x, { noise: eps });
      const trained = await vae.trainOnBatch(x, { noise: eps });
      for (const term of ['loss', 'reconstruction', 'kl'] as const) {
        const value = written[term].dataSync()[0];
        assert.ok(
          Math.abs(fromGraph[term] - value) < 1e-4 * Math.max(1, Math.abs(value)),
          `step ${step}, ${term}: the notebook's ${value}, the graph's ${fromGraph[term]}`,
        );
        assert.ok(
          Math.abs(trained[term] - value) < 1e-4 * Math.max(1, Math.abs(value)),
          `step ${step}, ${term}: the training step reports ${trained[term]}`,
        );
      }
      tf.dispose([written.loss, written.reconstruction, written.kl]);
    }
    vae.release();
    tf.dispose([x, eps]);
    dispose(encoder, decoder, library.encoder, library.decoder);
  });
});
