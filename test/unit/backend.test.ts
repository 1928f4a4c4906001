/**
 * The native backend is active and agrees with the reference pure-JS CPU backend.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { backendInfo, tf } from '../../lib';
import { loadNativeTensorFlow, NativeBackendError } from '../../lib/backend';

type Rank4 = [number, number, number, number];

function maxAbsDiff(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** conv2d output and d(sum(conv2d * upstream))/d(filter), computed on the active backend. */
function convForwardAndFilterGrad(
  x: Float32Array,
  xShape: Rank4,
  filter: Float32Array,
  filterShape: Rank4,
  stride: number,
  pad: 'same' | 'valid',
  upstream: Float32Array,
): { y: Float32Array; dFilter: Float32Array } {
  return tf.tidy(() => {
    const xT = tf.tensor4d(x, xShape);
    const fT = tf.tensor4d(filter, filterShape);
    const y = tf.conv2d(xT, fT, stride, pad);
    const dy = tf.tensor(upstream, y.shape);
    const gradFn = tf.grad((f) =>
      tf
        .conv2d(xT, f as typeof fT, stride, pad)
        .mul(dy)
        .sum(),
    );
    return { y: y.dataSync() as Float32Array, dFilter: gradFn(fT).dataSync() as Float32Array };
  });
}

describe('native TensorFlow backend', () => {
  it('is the active backend and reports the TensorFlow version it links', () => {
    const info = backendInfo(tf);
    const librarySource = info.librarySource ?? 'tfjs-node download';
    console.log(`tf.getBackend() = ${info.backend}; TensorFlow ${info.tensorflowVersion}; ${librarySource}`);
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.match(info.tensorflowVersion, /^2\.\d+\.\d+/);
  });

  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      it(`conv2d forward and filter gradient match the CPU backend (stride ${stride}, ${pad})`, async () => {
        const xShape: Rank4 = [2, 9, 9, 3];
        const filterShape: Rank4 = [3, 3, 3, 4];
        const rand = (n: number) =>
          tf.tidy(() => tf.randomUniform([n], -1, 1, 'float32', 7 * stride + n).dataSync() as Float32Array);
        const x = rand(xShape.reduce((a, b) => a * b));
        const filter = rand(filterShape.reduce((a, b) => a * b));
        const outSide = pad === 'same' ? Math.ceil(9 / stride) : Math.floor((9 - 3) / stride) + 1;
        const upstream = rand(2 * outSide * outSide * 4);

        const native = convForwardAndFilterGrad(x, xShape, filter, filterShape, stride, pad, upstream);
        await tf.setBackend('cpu');
        try {
          const reference = convForwardAndFilterGrad(x, xShape, filter, filterShape, stride, pad, upstream);
          assert.equal(native.y.length, 2 * outSide * outSide * 4);
          assert.ok(
            maxAbsDiff(native.y, reference.y) <= 1e-4,
            `forward differs by ${maxAbsDiff(native.y, reference.y)}`,
          );
          assert.ok(
            maxAbsDiff(native.dFilter, reference.dFilter) <= 1e-4,
            `filter gradient differs by ${maxAbsDiff(native.dFilter, reference.dFilter)}`,
          );
          // The gradient is not trivially zero: the comparison means something.
          assert.ok(reference.dFilter.some((v) => Math.abs(v) > 0.1));
        } finally {
          await tf.setBackend('tensorflow');
        }
      });
    }
  }
});

describe('when the native backend cannot load', () => {
  it('throws an error naming what is missing and the command that fixes it', () => {
    assert.throws(
      () => loadNativeTensorFlow('@tensorflow/no-such-native-backend', {}),
      (err: unknown) => {
        assert.ok(err instanceof NativeBackendError);
        assert.match(err.message, /could not be loaded/);
        assert.match(err.message, /not installed/);
        assert.match(err.message, /npm run setup/);
        return true;
      },
    );
  });

  it('names the missing C library when the binding cannot find it', () => {
    // A stand-in package whose main fails the way tfjs-node does without libtensorflow.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-tfjs-node-'));
    const pkg = path.join(dir, 'node_modules', 'fake-native');
    fs.mkdirSync(path.join(pkg, 'lib', 'napi-v8'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
    fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"fake-native","main":"index.js"}');
    fs.writeFileSync(
      path.join(pkg, 'index.js'),
      'throw new Error("libtensorflow_cc.so.2: cannot open shared object file: No such file or directory");',
    );
    try {
      assert.throws(
        () => loadNativeTensorFlow(pkg, {}),
        (err: unknown) => {
          assert.ok(err instanceof NativeBackendError);
          assert.match(err.message, /libtensorflow_cc\.so\.2: cannot open shared object file/);
          assert.match(err.message, /npm run setup/);
          return true;
        },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the pure-JS package only when explicitly asked, with a "debugging only" warning', () => {
    const missing = '@tensorflow/no-such-native-backend';
    // Any value but "1" is no opt-in: the error stays.
    for (const value of [undefined, '0', 'true']) {
      assert.throws(
        () => loadNativeTensorFlow(missing, value === undefined ? {} : { GAN_NOTEBOOKS_ALLOW_CPU_BACKEND: value }),
        NativeBackendError,
      );
    }
    const warnings: string[] = [];
    const emitWarning = process.emitWarning;
    // Records instead of printing; the signature is overloaded, the first argument is the message.
    process.emitWarning = ((warning: string | Error) => {
      warnings.push(String(warning));
    }) as typeof process.emitWarning;
    let slow: ReturnType<typeof loadNativeTensorFlow>;
    try {
      slow = loadNativeTensorFlow(missing, { GAN_NOTEBOOKS_ALLOW_CPU_BACKEND: '1' });
    } finally {
      process.emitWarning = emitWarning;
    }
    // It is @tensorflow/tfjs itself, which has no tf.node (the native package's file helpers).
    // The identity checks need the modules' own export objects: an import namespace would be a copy (under tsx).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, as said above
    assert.equal(slow, require('@tensorflow/tfjs'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, as said above
    assert.notEqual(slow, require('@tensorflow/tfjs-node'));
    assert.equal((slow as { node?: unknown }).node, undefined);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0],
      new RegExp(
        '@tensorflow/no-such-native-backend did not load; ' +
          'GAN_NOTEBOOKS_ALLOW_CPU_BACKEND=1 selects the pure-JS CPU backend.*Use it for debugging only\\.',
      ),
    );
  });
});
