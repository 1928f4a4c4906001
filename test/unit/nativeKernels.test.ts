/**
 * The cheaper Step kernel and LeakyReLU gradient (lib/nativeKernels.ts) give the stock results:
 * the same native backend with tfjs's own kernels put back, and the pure-JS CPU backend, serve
 * as references, on inputs with exact zeros, negatives, +-1e-7 and NaN.
 */
import { strict as assert } from 'node:assert';
import { describe, it, mock } from 'node:test';
import type { KernelConfig, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../../lib';
import {
  installNativeKernels,
  nativeKernelsInstalled,
  NATIVE_LEAKY_RELU_GRAD,
  uninstallNativeKernels,
} from '../../lib/nativeKernels';

/** Gradients agree to this absolute tolerance (observed: bit-identical). */
const TOLERANCE = 1e-6;

type Arrays = Float32Array[];

/** Normal random values with exact zeros, negative zero, +-1e-7 and exact negatives mixed in. */
function specialValues(n: number, seed: number): Float32Array {
  const values = tf.tidy(() => tf.randomNormal([n], 0, 1, 'float32', seed).dataSync() as Float32Array).slice();
  const specials = [0, -0, 1e-7, -1e-7, -2, 0, -0.5];
  for (let i = 0; i < n; i += 3) values[i] = specials[(i / 3) % specials.length];
  return values;
}

/** Where actual and expected differ (NaN must meet NaN), or null when they agree. */
function firstMismatch(actual: Arrays, expected: Arrays): string | null {
  assert.equal(actual.length, expected.length);
  for (let k = 0; k < actual.length; k++) {
    assert.equal(actual[k].length, expected[k].length);
    for (let i = 0; i < actual[k].length; i++) {
      const a = actual[k][i];
      const e = expected[k][i];
      const same = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= TOLERANCE;
      if (!same) return `gradient ${k}, element ${i}: ${a}, stock ${e}`;
    }
  }
  return null;
}

function assertSameAsStock(actual: Arrays, expected: Arrays): void {
  const mismatch = firstMismatch(actual, expected);
  assert.equal(mismatch, null, mismatch ?? '');
}

/** fn with tfjs's stock Step kernel and LeakyReLU gradient, on the same native backend. */
function withStockKernels<T>(fn: () => T): T {
  uninstallNativeKernels(tf);
  try {
    return fn();
  } finally {
    assert.equal(installNativeKernels(tf), true);
  }
}

/** fn on the pure-JS CPU backend (which keeps its own kernels). */
async function onCpu<T>(fn: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    await tf.setBackend('tensorflow');
  }
}

/** The gradients of sum(f(x) * dy) with respect to x, as arrays. */
function elementwiseGradient(f: (x: Tensor) => Tensor, x: Float32Array, dy: Float32Array): Arrays {
  return tf.tidy(() => {
    const upstream = tf.tensor1d(dy);
    const gradient = tf.grad((t) => f(t).mul(upstream).sum())(tf.tensor1d(x));
    return [gradient.dataSync() as Float32Array];
  });
}

const relu = (t: Tensor) => tf.relu(t);
const leakyRelu = (t: Tensor) => tf.leakyRelu(t, 0.2);

/** Fused conv2d + bias + relu; a zero block in x makes some pre-activations exactly the bias. */
function fusedConvGradients(x: Float32Array, filter: Float32Array, bias: Float32Array, dy: Float32Array): Arrays {
  return tf.tidy(() => {
    const upstream = tf.tensor4d(dy, [2, 8, 8, 4]);
    const grads = tf.grads((xs: Tensor, fs: Tensor, bs: Tensor) =>
      tf.fused
        .conv2d({
          x: xs as tf.Tensor4D,
          filter: fs as tf.Tensor4D,
          bias: bs,
          strides: 1,
          pad: 'same',
          activation: 'relu',
        })
        .mul(upstream)
        .sum(),
    );
    return grads([tf.tensor4d(x, [2, 8, 8, 3]), tf.tensor4d(filter, [3, 3, 3, 4]), tf.tensor1d(bias)]).map(
      (g) => g.dataSync() as Float32Array,
    );
  });
}

function convInputs(seed: number): { x: Float32Array; filter: Float32Array; bias: Float32Array; dy: Float32Array } {
  const x = specialValues(2 * 8 * 8 * 3, seed);
  // Zero out the top-left 4x4 pixels of the first image: outputs there are exactly the bias.
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 4; col++) x.fill(0, (row * 8 + col) * 3, (row * 8 + col) * 3 + 3);
  }
  return {
    x,
    filter: specialValues(3 * 3 * 3 * 4, seed + 1),
    bias: Float32Array.from([0, 1e-7, -1e-7, 0.25]),
    dy: specialValues(2 * 8 * 8 * 4, seed + 2),
  };
}

/**
 * A Dense layer (tfjs-layers, as the models use it) with relu, or followed by LeakyReLU(0.2):
 * gradients with respect to its input, kernel and bias. A zero input row gives exactly the bias
 * (0, +-1e-7, ...) as pre-activations.
 */
function denseGradients(activation: 'relu' | 'leakyRelu', x: Float32Array, dy: Float32Array): Arrays {
  const model = tf.sequential({
    layers:
      activation === 'relu'
        ? [tf.layers.dense({ units: 5, activation: 'relu', inputShape: [7] })]
        : [tf.layers.dense({ units: 5, inputShape: [7] }), tf.layers.leakyReLU({ alpha: 0.2 })],
  });
  try {
    return tf.tidy(() => {
      model.setWeights([tf.tensor2d(specialValues(7 * 5, 11), [7, 5]), tf.tensor1d([0, 1e-7, -1e-7, 0.5, -0.5])]);
      const upstream = tf.tensor2d(dy, [4, 5]);
      const input = tf.tensor2d(x, [4, 7]);
      const forward = (t: Tensor) => (model.apply(t) as Tensor).mul(upstream).sum() as tf.Scalar;
      const dx = tf.grad(forward)(input);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(() => forward(input), variables);
      return [dx, ...variables.map((v) => grads[v.name])].map((g) => g.dataSync() as Float32Array);
    });
  } finally {
    model.dispose();
  }
}

function denseInputs(seed: number): { x: Float32Array; dy: Float32Array } {
  const x = specialValues(4 * 7, seed);
  x.fill(0, 0, 7); // first row zero: pre-activations are exactly the bias
  return { x, dy: specialValues(4 * 5, seed + 1) };
}

describe('native activation kernels', () => {
  it('are installed by importing the library on the native backend', () => {
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.equal(nativeKernelsInstalled(), true);
    const stock = withStockKernels(() => tf.getKernel('Step', 'tensorflow'));
    assert.notEqual(tf.getKernel('Step', 'tensorflow'), stock);
    assert.ok(tf.getKernel(NATIVE_LEAKY_RELU_GRAD, 'tensorflow'));
  });

  it('Step gives the stock values for NaN, infinities, signed zeros and tiny values', () => {
    const x = [NaN, -Infinity, Infinity, -0, 0, 1e-7, -1e-7, 2, -2];
    // 37 elements: both the vectorised part and the scalar tail of TensorFlow's loops.
    const long = Array.from({ length: 37 }, (_, i) => x[i % x.length]);
    const step = (alpha: number) => tf.tidy(() => Array.from(tf.step(tf.tensor1d(long), alpha).dataSync()));
    for (const alpha of [0, 0.3]) {
      const ours = step(alpha);
      const stock = withStockKernels(() => step(alpha));
      assert.deepEqual(ours, stock, `alpha ${alpha}`);
    }
    assert.deepEqual(step(0).slice(0, 9), [NaN, 0, 1, 0, 0, 1, 0, 1, 0]);
    // int32 input goes to the stock kernel, which rejects it (TensorFlow's IsNan takes floats only).
    const intStep = () =>
      tf.tidy(() => {
        tf.step(tf.tensor1d([-3, 0, 5], 'int32'));
      });
    assert.throws(intStep, /IsNan/);
    assert.throws(() => withStockKernels(intStep), /IsNan/);
  });

  for (const [name, f] of [
    ['relu', relu],
    ['leakyRelu(0.2)', leakyRelu],
  ] as const) {
    it(`${name}: gradient equals the stock one and the CPU backend's`, async () => {
      const x = specialValues(1003, 1);
      const dy = specialValues(1003, 2);
      const ours = elementwiseGradient(f, x, dy);
      assertSameAsStock(
        ours,
        withStockKernels(() => elementwiseGradient(f, x, dy)),
      );
      assertSameAsStock(ours, await onCpu(() => elementwiseGradient(f, x, dy)));
      // The comparison covers both sides of the kink.
      assert.ok(ours[0].some((v, i) => v === dy[i] && v !== 0));
      assert.ok(ours[0].some((v, i) => v !== dy[i]));
    });

    it(`${name}: NaN inputs give the stock gradient (NaN for relu, alpha * dy for leakyRelu)`, async () => {
      const x = Float32Array.from([NaN, 1, NaN, -1, 0, Infinity, -Infinity]);
      const dy = Float32Array.from([1, 1, -3, 1, 1, 1, 1]);
      const ours = elementwiseGradient(f, x, dy);
      assertSameAsStock(
        ours,
        withStockKernels(() => elementwiseGradient(f, x, dy)),
      );
      assertSameAsStock(ours, await onCpu(() => elementwiseGradient(f, x, dy)));
      if (name === 'relu') assert.ok(Number.isNaN(ours[0][0]) && Number.isNaN(ours[0][2]));
      else assert.deepEqual(Array.from(ours[0].slice(0, 3)), [Math.fround(0.2), 1, Math.fround(-3 * 0.2)]);
    });
  }

  it("leakyRelu: the gradient runs TensorFlow's LeakyReluGrad kernel", async () => {
    const x = specialValues(64, 3);
    const dy = specialValues(64, 4);
    const profile = await tf.profile(() => {
      elementwiseGradient(leakyRelu, x, dy);
    });
    assert.ok(profile.kernelNames.includes(NATIVE_LEAKY_RELU_GRAD), `kernels run: ${profile.kernelNames.join(', ')}`);
  });

  it('leakyRelu: second derivatives work (the stock gradient has none)', () => {
    const x = tf.tensor1d([-2, -0.5, 0, 0.3, 4]);
    const secondDy = tf.grad(tf.grad((t: Tensor) => tf.leakyRelu(t, 0.2).mul(t).sum()));
    // d/dx (leakyRelu'(x) * x + leakyRelu(x)) = 2 * leakyRelu'(x) away from 0.
    assert.deepEqual(
      Array.from(tf.tidy(() => secondDy(x).dataSync())).map((v) => Math.fround(v)),
      [0.4, 0.4, 0.4, 2, 2].map(Math.fround),
    );
    x.dispose();
  });

  it('fused conv2d with relu: input, filter and bias gradients equal the stock ones', () => {
    const { x, filter, bias, dy } = convInputs(5);
    const ours = fusedConvGradients(x, filter, bias, dy);
    assertSameAsStock(
      ours,
      withStockKernels(() => fusedConvGradients(x, filter, bias, dy)),
    );
    assert.ok(
      ours[2].some((v) => v !== 0),
      'the bias gradient is not trivially zero',
    );
  });

  it('fused conv2d with relu: a NaN pixel gives the stock NaN pattern', () => {
    const { x, filter, bias, dy } = convInputs(6);
    x[100] = NaN;
    const ours = fusedConvGradients(x, filter, bias, dy);
    assertSameAsStock(
      ours,
      withStockKernels(() => fusedConvGradients(x, filter, bias, dy)),
    );
    assert.ok(
      ours[1].some((v) => Number.isNaN(v)),
      'the NaN reaches the filter gradient',
    );
  });

  for (const activation of ['relu', 'leakyRelu'] as const) {
    it(`Dense layer with ${activation}: input, kernel and bias gradients equal the stock ones`, () => {
      const { x, dy } = denseInputs(7);
      const ours = denseGradients(activation, x, dy);
      assert.equal(ours.length, 3);
      assertSameAsStock(
        ours,
        withStockKernels(() => denseGradients(activation, x, dy)),
      );
      assert.ok(
        ours[2].some((v) => v !== 0),
        'the bias gradient is not trivially zero',
      );
    });
  }

  it('leaks no tensors: tf.memory().numTensors is flat across calls', () => {
    const x = specialValues(256, 8);
    const dy = specialValues(256, 9);
    const conv = convInputs(10);
    const dense = denseInputs(11);
    const round = () => {
      elementwiseGradient(relu, x, dy);
      elementwiseGradient(leakyRelu, x, dy);
      fusedConvGradients(conv.x, conv.filter, conv.bias, conv.dy);
      denseGradients('relu', dense.x, dense.dy);
      denseGradients('leakyRelu', dense.x, dense.dy);
      tf.tidy(() => {
        tf.step(tf.tensor1d(x));
      });
    };
    round();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      round();
      assert.equal(tf.memory().numTensors, before, `after round ${i + 1}`);
    }
  });

  it('installs once: a second install or a second copy of the library changes nothing and warns nothing', () => {
    const warn = mock.method(console, 'warn');
    try {
      const step = tf.getKernel('Step', 'tensorflow');
      const gradient = tf.getGradient('LeakyRelu');
      assert.equal(installNativeKernels(tf), true);
      // A fresh copy of the modules, as when tslab and tsx each load lib/.
      for (const id of ['../../lib/tf', '../../lib/nativeKernels']) delete require.cache[require.resolve(id)];
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy, after the cache was cleared
      const fresh = require('../../lib/nativeKernels') as typeof import('../../lib/nativeKernels');
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy, after the cache was cleared
      require('../../lib/tf');
      assert.equal(fresh.nativeKernelsInstalled(), true);
      assert.equal(fresh.installNativeKernels(tf), true);
      assert.equal(tf.getKernel('Step', 'tensorflow'), step);
      assert.equal(tf.getGradient('LeakyRelu'), gradient);
      assert.equal(warn.mock.callCount(), 0, 'tfjs warned about a kernel registered twice');
    } finally {
      warn.mock.restore();
    }
  });

  it('does nothing on the CPU backend, and the installed gradient still works there', async () => {
    const x = specialValues(32, 12);
    const dy = specialValues(32, 13);
    // Installed, then switched to CPU (as backend.test.ts does): LeakyReLU's gradient is shared
    // by all backends and must fall back to the stock one there.
    const onCpuInstalled = await onCpu(() => elementwiseGradient(leakyRelu, x, dy));
    assertSameAsStock(onCpuInstalled, elementwiseGradient(leakyRelu, x, dy));

    uninstallNativeKernels(tf);
    const stockStep: KernelConfig = tf.getKernel('Step', 'tensorflow');
    try {
      const installedOnCpu = await onCpu(() => installNativeKernels(tf));
      assert.equal(installedOnCpu, false);
      assert.equal(nativeKernelsInstalled(), false);
      assert.equal(tf.getKernel('Step', 'tensorflow'), stockStep);
    } finally {
      assert.equal(installNativeKernels(tf), true);
    }
  });
});
