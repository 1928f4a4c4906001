/**
 * 05's variational autoencoder, built and trained from the notebook's own cells: its parameter
 * counts, its `vaeLoss` as what `compiled([encoder, decoder], { loss })` trains (a change to the loss
 * changes the trained weights), the graph steps against tfjs's eager minimize, seeded draws inside the
 * step, and no tensor left behind.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { LayersModel, Scalar, Tensor } from '@tensorflow/tfjs-node';
import * as lib from '../../lib';
import { tf, compiled } from '../../lib';
import { readNotebook, runCellSource, sourceText, taggedSource } from '../../tools/ipynb';

const NOTEBOOK = path.join(__dirname, '..', '..', 'notebooks', '05-vae.ipynb');

type NotebookLoss = (x: Tensor, eps: Tensor) => { loss: Scalar; reconstruction: Scalar; kl: Scalar };

/** Runs 05-vae's parameters cell and its cells tagged `model`; returns what they define. */
function notebookVae(): { encoder: LayersModel; decoder: LayersModel; vaeLoss: NotebookLoss } {
  const source = taggedSource(NOTEBOOK, ['parameters', 'model']);
  // Several VAEs live at once here: the cell's releaseOnRerun would free the one built before.
  return runCellSource(`${source}\nreturn { encoder, decoder, vaeLoss };`, { ...lib, releaseOnRerun: () => undefined });
}

function maxDifference(a: Tensor[], b: Tensor[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((t, i) => tf.tidy(() => t.sub(b[i]).abs().max().dataSync()[0])));
}

function weightsOf(vae: { encoder: LayersModel; decoder: LayersModel }): Tensor[] {
  return [...vae.encoder.getWeights(), ...vae.decoder.getWeights()];
}

function dispose(vae: { encoder: LayersModel; decoder: LayersModel }): void {
  vae.encoder.dispose();
  vae.decoder.dispose();
}

const STEPS = 6; // an optimizer with slots (Adam) runs its first step eagerly; then, and for SGD throughout, a graph

describe("05-vae: the notebook's models and loss", () => {
  it('builds the SPEC E models (encoder 105,220 and decoder 102,017 parameters), and trains on vaeLoss', () => {
    // The training cell compiles the notebook's own loss, not a copy of it.
    const cells = readNotebook(NOTEBOOK)
      .cells.filter((cell) => cell.cell_type === 'code')
      .map((cell) => sourceText(cell.source));
    const compileCell = cells.find((source) => source.includes('compiled([encoder, decoder]'));
    assert.ok(compileCell, 'notebooks/05-vae.ipynb compiles [encoder, decoder]');
    assert.match(compileCell, /loss: \(x: tf\.Tensor\) => vaeLoss\(x, /, 'and its loss is vaeLoss');
    const vae = notebookVae();
    assert.equal(vae.encoder.countParams(), 105_220);
    assert.equal(vae.decoder.countParams(), 102_017);
    dispose(vae);
  });

  const trainsTitle =
    "compiled([encoder, decoder], { loss }) trains the notebook's vaeLoss: on the graph engine it matches " +
    "tfjs's eager minimize of vaeLoss, and a changed loss trains other weights";
  it(trainsTitle, async () => {
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 21);
    const eps = tf.randomNormal([8, 2], 0, 1, 'float32', 22);
    const [graphVae, eagerVae, changedVae, startVae] = [notebookVae(), notebookVae(), notebookVae(), notebookVae()];
    // SGD: each step moves the weights by lr times the gradient, so two correct runs agree closely.
    const graph = compiled([graphVae.encoder, graphVae.decoder], {
      loss: (batch: Tensor, noise: Tensor) => graphVae.vaeLoss(batch, noise),
      optimizer: tf.train.sgd(1e-4),
      engine: 'graph',
    });
    const reported: number[] = [];
    for (let step = 0; step < STEPS; step++) reported.push((await graph.trainOnBatch(x, eps)).loss);
    assert.equal(graph.engine, 'graph');

    const optimizer = tf.train.sgd(1e-4);
    const eagerWeights = [...eagerVae.encoder.trainableWeights, ...eagerVae.decoder.trainableWeights].map(
      (weight) => weight.read() as tf.Variable,
    );
    const expected: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const cost = optimizer.minimize(() => eagerVae.vaeLoss(x, eps).loss, true, eagerWeights) as Scalar;
      expected.push(cost.dataSync()[0]);
      cost.dispose();
    }
    expected.forEach((value, i) =>
      assert.ok(
        Math.abs(value - reported[i]) < 1e-4 * Math.abs(value),
        `step ${i}: eager ${value}, graph ${reported[i]}`,
      ),
    );
    // Each weight against how far training moved it: a missing or wrong update would be off by about
    // its whole movement; the two engines' rounding is far below 1% of it.
    const [graphWeights, eagerTrained, startWeights] = [weightsOf(graphVae), weightsOf(eagerVae), weightsOf(startVae)];
    graphWeights.forEach((weight, i) => {
      const moved = maxDifference([eagerTrained[i]], [startWeights[i]]);
      const difference = maxDifference([weight], [eagerTrained[i]]);
      assert.ok(moved > 0, `weight ${i} did not move`);
      assert.ok(difference <= 0.01 * moved, `weight ${i}: differs by ${difference}, moved by ${moved}`);
    });

    // The same steps on a loss with the KL term doubled: other weights.
    const changed = compiled([changedVae.encoder, changedVae.decoder], {
      loss: (batch: Tensor, noise: Tensor) => {
        const terms = changedVae.vaeLoss(batch, noise);
        return tf.tidy(() => terms.loss.add(terms.kl));
      },
      optimizer: tf.train.sgd(1e-4),
      engine: 'graph',
    });
    for (let step = 0; step < STEPS; step++) await changed.trainOnBatch(x, eps);
    assert.ok(
      maxDifference(weightsOf(graphVae), weightsOf(changedVae)) > 1e-6,
      'the changed loss trained the same weights',
    );
    tf.dispose([x, eps]);
    [graphVae, eagerVae, changedVae, startVae].forEach(dispose);
  });

  const drawsTitle =
    'a loss that draws its own noise (tf.randomNormal) repeats with the same seed and not with another, ' +
    'keeping tf.memory().numTensors flat over steps and evaluations';
  it(drawsTitle, async () => {
    const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 31);
    const run = async (seed: number) => {
      const vae = notebookVae();
      const step = compiled([vae.encoder, vae.decoder], {
        loss: (batch: Tensor) => vae.vaeLoss(batch, tf.randomNormal([batch.shape[0], 2])),
        optimizer: tf.train.adam(1e-3),
        seed,
      });
      const losses: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < STEPS; i++) {
        losses.push((await step.trainOnBatch(x)).kl);
        await step.evaluate(x);
        counts.push(tf.memory().numTensors);
      }
      assert.equal(step.engine, 'graph');
      assert.equal(new Set(counts.slice(1)).size, 1, `numTensors: ${counts}`);
      dispose(vae);
      return losses;
    };
    const first = await run(1);
    assert.deepEqual(await run(1), first, 'the same seed, the same draws');
    const other = await run(2);
    assert.ok(
      other.some((value, i) => value !== first[i]),
      `seed 2 drew seed 1's noise: ${other.join(', ')}`,
    );
    x.dispose();
  });
});
