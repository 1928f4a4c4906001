/**
 * Latent walks: interpolateLatent's points (ends included, even spacing, the arc's norms), its
 * errors, no leaked tensors; fixedNoiseStrip's rearrangement of GAN samples.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { fixedNoiseStrip, interpolateLatent, tf } from '../../lib';

function rows(tensor: tf.Tensor): number[][] {
  return tensor.arraySync() as number[][];
}

function close(actual: number, expected: number, what: string, tolerance = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

describe('interpolateLatent', () => {
  it('linear: steps evenly spaced points, both ends included, as a new [steps, d] tensor', () => {
    const from = tf.tensor1d([0, 10, -2]);
    const to = tf.tensor2d([[4, 2, 2]]);
    const before = tf.memory().numTensors;
    const path = interpolateLatent(from, to, 5);
    assert.equal(tf.memory().numTensors, before + 1, 'only the result is left allocated');
    assert.deepEqual(path.shape, [5, 3]);
    const expected = [
      [0, 10, -2],
      [1, 8, -1],
      [2, 6, 0],
      [3, 4, 1],
      [4, 2, 2],
    ];
    rows(path).forEach((row, k) => row.forEach((value, j) => close(value, expected[k][j], `row ${k} column ${j}`)));
    tf.dispose([from, to, path]);
  });

  it('spherical: ends exact, norms interpolate linearly, and the middle keeps the norm the straight line loses', () => {
    const from = tf.tensor1d([3, 0]);
    const to = tf.tensor1d([0, 3]);
    const before = tf.memory().numTensors;
    const arc = interpolateLatent(from, to, 3, { method: 'spherical' });
    const line = interpolateLatent(from, to, 3);
    assert.equal(tf.memory().numTensors, before + 2);
    const [first, middle, last] = rows(arc);
    close(first[0], 3, 'first x');
    close(first[1], 0, 'first y');
    close(last[0], 0, 'last x');
    close(last[1], 3, 'last y');
    close(Math.hypot(middle[0], middle[1]), 3, 'arc middle norm');
    close(middle[0], middle[1], 'arc middle lies on the diagonal');
    close(Math.hypot(...rows(line)[1]), 3 / Math.SQRT2, 'straight middle norm');

    // Different lengths: the norm goes linearly from 2 to 6.
    const short = tf.tensor1d([2, 0]);
    const long = tf.tensor1d([0, 6]);
    const scaled = interpolateLatent(short, long, 5, { method: 'spherical' });
    rows(scaled).forEach((row, k) => close(Math.hypot(...row), 2 + k, `norm of row ${k}`));
    tf.dispose([from, to, arc, line, short, long, scaled]);
  });

  it('spherical falls back to the straight line for parallel ends and a zero end', () => {
    const a = tf.tensor1d([1, 1]);
    const b = tf.tensor1d([3, 3]);
    const zero = tf.zeros([2]);
    for (const [x, y] of [
      [a, b],
      [zero, b],
    ]) {
      const arc = interpolateLatent(x, y, 4, { method: 'spherical' });
      const line = interpolateLatent(x, y, 4);
      rows(arc).forEach((row, k) => row.forEach((value, j) => close(value, rows(line)[k][j], `row ${k}`)));
      tf.dispose([arc, line]);
    }
    tf.dispose([a, b, zero]);
  });

  it('rejects mismatched lengths, batches, too few steps and unknown methods, leaking nothing', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([1, 2]);
    const batch = tf.zeros([2, 3]);
    const ints = tf.tensor1d([1, 2, 3], 'int32');
    const before = tf.memory().numTensors;
    assert.throws(() => interpolateLatent(a, b, 3), /from has 3 values and to has 2/);
    assert.throws(() => interpolateLatent(batch, a, 3), /from must be one vector.*\[2, 3\]/);
    assert.throws(() => interpolateLatent(a, a, 1), /steps must be a whole number >= 2/);
    assert.throws(() => interpolateLatent(a, a, 2.5), /steps must be a whole number >= 2/);
    assert.throws(() => interpolateLatent(a, ints, 3), /float32.*int32/);
    // @ts-expect-error: a method outside the union, as plain JavaScript could pass.
    assert.throws(() => interpolateLatent(a, a, 3, { method: 'cubic' }), /'linear' or 'spherical'/);
    assert.equal(tf.memory().numTensors, before, 'failed calls leave no tensors');
    tf.dispose([a, b, batch, ints]);
  });
});

describe('fixedNoiseStrip', () => {
  // Image value = 100 * sample + vector, so every cell says where it came from.
  const pixels = 4; // 2x2 images keep the test readable
  const samples = [0, 1, 2].map((s) => ({
    iteration: s * 200,
    images: Float32Array.from({ length: 5 * pixels }, (_, i) => 100 * s + Math.floor(i / pixels)),
  }));

  it('puts vector r at sample c into row r, column c', () => {
    const strip = fixedNoiseStrip(samples, 3, 2);
    assert.equal(strip.rows, 3);
    assert.equal(strip.cols, 3);
    assert.deepEqual(strip.iterations, [0, 200, 400]);
    const cells = Array.from({ length: 9 }, (_, k) => strip.images[k * pixels]);
    assert.deepEqual(cells, [0, 100, 200, 1, 101, 201, 2, 102, 202]);
  });

  it('says what is wrong with too few images, ragged data or no samples', () => {
    assert.throws(() => fixedNoiseStrip(samples, 6, 2), /samples\[0\] \(iteration 0\) has 5 images but 6 rows/);
    assert.throws(
      () => fixedNoiseStrip([{ iteration: 0, images: new Float32Array(5) }], 1, 2),
      /5 values, not a whole number of 2x2/,
    );
    assert.throws(() => fixedNoiseStrip([]), /samples is empty/);
  });
});
