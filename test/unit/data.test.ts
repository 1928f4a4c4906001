/**
 * What the chapters train on: scaled image and flat tensors (owned by the caller, no
 * intermediates left behind), seeded batches, the embedded set's fixed split, sample picks.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createRng, epochBatchIndices, sampleDigits, tf, toFlatTensor, toImageTensor } from '../../lib';
import { loadEmbeddedTestSet, randomBatchIndices, splitEmbedded, type MnistSplit } from '../../lib/data';

/** `count` images whose pixel p of image i is (i + p) % 256, and whose first two pixels encode i. */
function syntheticSplit(count: number): MnistSplit {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < 784; p++) images[i * 784 + p] = (i + p) % 256;
    images[i * 784] = i & 0xff;
    images[i * 784 + 1] = i >> 8;
  }
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10), count };
}

/** The example number encoded in an image's first two pixels. */
function idOf(split: MnistSplit, k: number): number {
  return split.images[k * 784] + 256 * split.images[k * 784 + 1];
}

const embedded = loadEmbeddedTestSet();

describe('toImageTensor and toFlatTensor', () => {
  it("'tanh' scales the real digits to exactly [-1, 1] as (x - 127.5) / 127.5, shape [n, 28, 28, 1]", () => {
    const before = tf.memory().numTensors;
    const images = toImageTensor(embedded, { range: 'tanh' });
    assert.equal(tf.memory().numTensors, before + 1, 'one tensor: the result, no intermediates');
    assert.deepEqual(images.shape, [10000, 28, 28, 1]);
    assert.equal(images.dtype, 'float32');
    const values = images.dataSync();
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < values.length; i++) {
      if (values[i] < min) min = values[i];
      if (values[i] > max) max = values[i];
    }
    assert.deepEqual([min, max], [-1, 1]);
    // Spot checks against the formula on the raw bytes.
    for (const i of [0, 150, 203, 400, 7_839_999])
      assert.ok(Math.abs(values[i] - (embedded.images[i] - 127.5) / 127.5) < 1e-6, `value ${i}`);
    images.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("'unit' scales to [0, 1] as x / 255", () => {
    const split = syntheticSplit(300);
    const before = tf.memory().numTensors;
    const images = toImageTensor(split, { range: 'unit' });
    const values = images.dataSync();
    images.dispose();
    assert.equal(tf.memory().numTensors, before);
    for (let i = 0; i < values.length; i += 97) assert.ok(Math.abs(values[i] - split.images[i] / 255) < 1e-7);
    assert.equal(Math.min(...values.subarray(0, 784 * 2)), 0);
    assert.equal(Math.max(...values.subarray(0, 784 * 2)), 1);
  });

  it('flattens to [n, 784] with the same values in row-major order', () => {
    const split = syntheticSplit(5);
    const before = tf.memory().numTensors;
    const flat = toFlatTensor(split, { range: 'unit' });
    const images = toImageTensor(split, { range: 'unit' });
    assert.equal(tf.memory().numTensors, before + 2);
    assert.deepEqual(flat.shape, [5, 784]);
    assert.deepEqual(Array.from(flat.dataSync()), Array.from(images.dataSync()));
    flat.dispose();
    images.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('takes the examples at `indices`, in that order', () => {
    const split = syntheticSplit(50);
    const batch = toFlatTensor(split, { range: 'unit', indices: [42, 3, 42] });
    const rows = batch.arraySync();
    batch.dispose();
    assert.equal(rows.length, 3);
    assert.deepEqual(
      rows.map((row) => Math.round(row[0] * 255) + 256 * Math.round(row[1] * 255)),
      [42, 3, 42],
    );
  });

  it("'byte' keeps the bytes as they are, as floats", () => {
    const split = syntheticSplit(3);
    const images = toFlatTensor(split, { range: 'byte' });
    assert.deepEqual(Array.from(images.dataSync()), Array.from(split.images));
    images.dispose();
  });

  it('rejects a bad index or range before making any tensor', () => {
    const split = syntheticSplit(4);
    const before = tf.memory().numTensors;
    const outside = /index 4 at position 1 is outside 0\.\.3/;
    assert.throws(() => toImageTensor(split, { range: 'tanh', indices: [0, 4] }), outside);
    const badRange = /options\.range must be 'tanh' \(\[-1, 1\]\), 'unit'/;
    // @ts-expect-error: a wrong range from untyped notebook code
    assert.throws(() => toFlatTensor(split, { range: 'minus-one' }), badRange);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('batches', () => {
  it('randomBatchIndices: same seed, same batches; in range; drawn with replacement', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 5 }, () => Array.from(randomBatchIndices(8000, 32, rng)));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
    assert.ok(
      draw(7)
        .flat()
        .every((i) => Number.isInteger(i) && i >= 0 && i < 8000),
    );
    const small = Array.from(randomBatchIndices(5, 100, createRng(1)));
    assert.equal(new Set(small).size, 5, 'every index appears, so repeats happen');
    assert.throws(() => randomBatchIndices(0, 4, createRng(1)), /count must be a positive integer/);
  });

  it('epochBatchIndices: every index once per epoch, batches of batchSize with a smaller last one, seeded', () => {
    const batches = epochBatchIndices(1000, 128, createRng(3));
    assert.deepEqual(
      batches.map((b) => b.length),
      [128, 128, 128, 128, 128, 128, 128, 104],
    );
    const all = batches.flatMap((b) => Array.from(b));
    assert.deepEqual(
      [...all].sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    assert.notDeepEqual(
      all.slice(0, 20),
      Array.from({ length: 20 }, (_, i) => i),
      'shuffled',
    );
    assert.deepEqual(epochBatchIndices(1000, 128, createRng(3)), batches);
    // One rng over two epochs: the second epoch is ordered differently.
    const rng = createRng(3);
    const first = epochBatchIndices(1000, 1000, rng)[0];
    const second = epochBatchIndices(1000, 1000, rng)[0];
    assert.notDeepEqual(first, second);
  });
});

describe('splitEmbedded', () => {
  it('holds out the same 2,000 of 10,000 examples every time, disjoint from training, labels with their images', () => {
    const split = syntheticSplit(10000);
    const { train, test } = splitEmbedded(split);
    assert.deepEqual([train.count, test.count, train.images.length], [8000, 2000, 8000 * 784]);
    const trainIds = Array.from({ length: train.count }, (_, k) => idOf(train, k));
    const testIds = Array.from({ length: test.count }, (_, k) => idOf(test, k));
    assert.deepEqual(
      [...trainIds, ...testIds].sort((a, b) => a - b),
      Array.from({ length: 10000 }, (_, i) => i),
    );
    assert.ok(testIds.every((id, k) => test.labels[k] === (id * 3) % 10));
    assert.deepEqual(splitEmbedded(split).test.images, test.images);
  });
});

describe('sampleDigits', () => {
  it('sampleDigits picks n distinct indices, the same for the same seed', () => {
    const picks = sampleDigits(embedded, 10, 5);
    assert.equal(picks.length, 10);
    assert.equal(new Set(picks).size, 10);
    assert.ok(Array.from(picks).every((i) => i >= 0 && i < 10000));
    assert.deepEqual(sampleDigits(embedded, 10, 5), picks);
    assert.notDeepEqual(sampleDigits(embedded, 10, 6), picks);
    assert.throws(() => sampleDigits(syntheticSplit(3), 4, 1), /from 0 to 3/);
  });
});
