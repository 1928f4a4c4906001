/**
 * The chapter's models: exact Keras parameter counts, shapes, shared decoder weights, and the
 * Keras freeze semantics of the DCGAN (checked with weight snapshots).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs-node';
import { buildConvAutoencoder2d, createDcgan, disposeDcgan, summaryTable, tf } from '../../lib';
import {
  buildConvAutoencoder,
  buildDiscriminator,
  buildGenerator,
  generatorNoiseDim,
  paramCounts,
} from '../../lib/models';

/** A copy of every weight's values, by position in model.weights. */
function snapshot(model: LayersModel): Float32Array[] {
  return model.weights.map((w) => w.read().dataSync().slice() as Float32Array);
}

function changed(before: Float32Array[], after: Float32Array[]): boolean[] {
  return before.map((values, i) => values.some((v, j) => v !== after[i][j]));
}

describe('parameter counts match Keras exactly', () => {
  it('generator 865,281 (12,672 non-trainable BN statistics) and discriminator 212,865', () => {
    const generator = buildGenerator();
    const discriminator = buildDiscriminator();
    assert.deepEqual(paramCounts(generator), { total: 865_281, trainable: 852_609, nonTrainable: 12_672 });
    assert.deepEqual(paramCounts(discriminator), { total: 212_865, trainable: 212_865, nonTrainable: 0 });
    assert.deepEqual(generator.outputs[0].shape, [null, 28, 28, 1]);
    generator.dispose();
    discriminator.dispose();
  });

  it("combined model summary: trainable 852,609, non-trainable 225,537 (the book's Keras summary)", () => {
    const gan = createDcgan();
    assert.deepEqual(paramCounts(gan.combined, { frozen: [gan.discriminator] }), {
      total: 1_078_146,
      trainable: 852_609,
      nonTrainable: 225_537,
    });
    const table = summaryTable(gan.combined, { frozen: [gan.discriminator] });
    assert.match(table, /Trainable params: 852,609/);
    assert.match(table, /Non-trainable params: 225,537/);
    assert.match(table, /generator \(Sequential\)\s+\(None, 28, 28, 1\)\s+865281/);
    disposeDcgan(gan);
  });

  it("reads the DCGAN's noise length off the generator, so nothing can disagree with it", () => {
    const gan = createDcgan({ noiseDim: 12 });
    assert.equal(generatorNoiseDim(gan.generator), 12);
    assert.equal('noiseDim' in gan, false, 'no hand-filled copy beside the generator');
    disposeDcgan(gan);
    const imageInput = buildDiscriminator();
    const notNoise = /takes inputs of shape \[batch, 28, 28, 1\]; a generator takes noise vectors/;
    assert.throws(() => generatorNoiseDim(imageInput), notNoise);
    imageInput.dispose();
  });

  it('convolutional autoencoder 4,385, output 28x28x1; the summary shows the unpadded 16 -> 14 step', () => {
    const model = buildConvAutoencoder();
    assert.equal(paramCounts(model).total, 4_385);
    assert.deepEqual(model.outputs[0].shape, [null, 28, 28, 1]);
    const table = summaryTable(model);
    assert.match(table, /\(None, 16, 16, 8\)[\s\S]*\(None, 14, 14, 16\)[\s\S]*\(None, 28, 28, 16\)/);
    assert.match(table, /Total params: 4,385/);
    model.dispose();
  });

  it('2-D convolutional autoencoder: encoder 98,946, decoder 102,017, whole 200,963', () => {
    const { encoder, decoder, model } = buildConvAutoencoder2d();
    assert.equal(paramCounts(encoder).total, 98_946);
    assert.equal(paramCounts(decoder).total, 102_017);
    assert.equal(paramCounts(model).total, 200_963);
    assert.deepEqual(encoder.outputs[0].shape, [null, 2]);
    assert.deepEqual(model.outputs[0].shape, [null, 28, 28, 1]);
    model.dispose();
  });

  it('2-D autoencoder flags: batchNorm adds BN layers, dropout adds Dropout layers', () => {
    const plain = buildConvAutoencoder2d({ compile: false });
    const withFlags = buildConvAutoencoder2d({ batchNorm: true, dropout: true, compile: false });
    const classes = (m: LayersModel) => m.layers.map((l) => l.getClassName());
    assert.ok(!classes(plain.encoder).includes('BatchNormalization'));
    assert.equal(classes(withFlags.encoder).filter((c) => c === 'BatchNormalization').length, 4);
    assert.equal(classes(withFlags.decoder).filter((c) => c === 'Dropout').length, 3);
    assert.ok(paramCounts(withFlags.model).nonTrainable > 0);
    plain.model.dispose();
    withFlags.model.dispose();
  });
});

describe('DCGAN freeze semantics (SPEC A2)', () => {
  it("a D step changes only D; a combined step changes only G (and G's BN moving statistics)", async () => {
    const gan = createDcgan({ seed: 7 });
    const real = tf.randomUniform([8, 28, 28, 1], -1, 1, 'float32', 1);
    const noise = tf.randomNormal([8, 100], 0, 1, 'float32', 2);
    const ones = tf.ones([8, 1]);

    let g0 = snapshot(gan.generator);
    let d0 = snapshot(gan.discriminator);
    await gan.discriminator.trainOnBatch(real, ones);
    assert.ok(
      changed(g0, snapshot(gan.generator)).every((c) => !c),
      'D step left every G weight (BN statistics included) unchanged',
    );
    assert.ok(
      changed(d0, snapshot(gan.discriminator)).every((c) => c),
      'D step changed every D weight',
    );

    g0 = snapshot(gan.generator);
    d0 = snapshot(gan.discriminator);
    await gan.combined.trainOnBatch(noise, ones);
    assert.ok(
      changed(d0, snapshot(gan.discriminator)).every((c) => !c),
      'combined step left every D weight unchanged',
    );
    const gChanged = changed(g0, snapshot(gan.generator));
    gan.generator.weights.forEach((w, i) => {
      // Trainable weights learn; BN moving mean/variance update in training mode, as in Keras.
      assert.ok(gChanged[i], `combined step changed G's ${w.originalName} (trainable: ${w.trainable})`);
    });
    assert.ok(gan.generator.weights.some((w) => !w.trainable && /moving_(mean|variance)/.test(w.originalName)));

    // D still learns in its own step after the combined step (tfjs would throw here if D stayed frozen).
    d0 = snapshot(gan.discriminator);
    await gan.discriminator.trainOnBatch(real, ones);
    assert.ok(changed(d0, snapshot(gan.discriminator)).some((c) => c));
    tf.dispose([real, noise, ones]);
    disposeDcgan(gan);
  });

  it("the literal Keras order (leave D frozen) makes D's own training fail in tfjs", async () => {
    const discriminator = buildDiscriminator();
    discriminator.compile({ loss: 'binaryCrossentropy', optimizer: tf.train.adam() });
    discriminator.trainable = false;
    const x = tf.zeros([2, 28, 28, 1]);
    const y = tf.ones([2, 1]);
    await assert.rejects(
      Promise.resolve().then(() => discriminator.trainOnBatch(x, y)),
      /none of the .* variables is trainable/,
    );
    tf.dispose([x, y]);
    discriminator.dispose();
  });

  it('the same seed builds the same initial weights; another seed does not', () => {
    const models = [buildGenerator({ seed: 3 }), buildGenerator({ seed: 3 }), buildGenerator({ seed: 4 })];
    const [a, b, c] = models.map(snapshot);
    assert.ok(changed(a, b).every((x) => !x));
    assert.ok(changed(a, c).some((x) => x));
    models.forEach((m) => m.dispose());
  });
});
