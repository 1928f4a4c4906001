/**
 * Cheaper activation gradients on the native backend (see bench/RESULTS.md, "Applied").
 *
 * tfjs builds two hot gradient pieces from generic ops, several native calls each:
 *  - the Step kernel (ReLU's derivative, also used by every fused conv2d/dense layer with relu)
 *    runs isNaN, greater, ones, fill, where and Select; `ones` and `fill` build full-size
 *    arrays in JavaScript and copy them into TensorFlow on every call;
 *  - LeakyReLU's gradient runs greater + mul + where, where TensorFlow has one LeakyReluGrad op.
 * `installNativeKernels` replaces both on the `tensorflow` backend with results identical to
 * the stock ones (NaN included), and leaves every other case to the stock code.
 */
import type { GradConfig, KernelConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { NodeJSKernelBackend } from '@tensorflow/tfjs-node/dist/nodejs_kernel_backend';
import type { TensorFlowApi } from './backend';

/** The kernel that runs TensorFlow's LeakyReluGrad op (inputs dy and x, attribute alpha). */
export const NATIVE_LEAKY_RELU_GRAD = 'GanNotebooksLeakyReluGrad';

const NATIVE_BACKEND = 'tensorflow';

/** What install replaced, to delegate to and to restore. */
interface InstalledState {
  stockStep: KernelConfig;
  stockLeakyReluGradient: GradConfig;
}

// The state lives on globalThis, like tfjs's own kernel registry, so that a second copy of this
// module (tslab and tsx can each load lib/ once) sees the first copy's installation.
const STATE_KEY: unique symbol = Symbol.for('gan-notebooks-ts.nativeKernels');
const globalState = globalThis as typeof globalThis & { [STATE_KEY]?: InstalledState };

/** The attribute T = float32 of a TensorFlow op, in the terms of `backend`'s binding. */
function floatType({ binding }: NodeJSKernelBackend) {
  return { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT };
}

/** Whether the cheaper kernels are registered (by this or another copy of this module). */
export function nativeKernelsInstalled(): boolean {
  return globalState[STATE_KEY] !== undefined;
}

/**
 * Registers the cheaper Step kernel and LeakyReLU gradient for the `tensorflow` backend.
 * Does nothing when that backend is not the active one (the pure-JS CPU fallback for debugging)
 * or when already installed. Returns whether the kernels are installed afterwards.
 */
export function installNativeKernels(tf: TensorFlowApi): boolean {
  if (nativeKernelsInstalled()) return true;
  if (tf.getBackend() !== NATIVE_BACKEND) return false;
  // getKernel and getGradient return undefined for unknown names, whatever their types say.
  const stockStep = tf.getKernel('Step', NATIVE_BACKEND) as KernelConfig | undefined;
  const stockLeakyReluGradient = tf.getGradient('LeakyRelu') as GradConfig | undefined;
  // A tfjs version without these has changed what this module relies on: keep the stock code.
  if (stockStep === undefined || stockLeakyReluGradient === undefined) return false;

  const stepKernel: KernelConfig = {
    kernelName: 'Step',
    backendName: NATIVE_BACKEND,
    kernelFunc: (args) => {
      const { x } = args.inputs;
      // Only ReLU's case (alpha 0 on float32) is replaced; leaky steps and other dtypes stay stock.
      if (args.attrs?.alpha !== 0 || !(x instanceof tf.Tensor) || x.dtype !== 'float32') {
        return stockStep.kernelFunc(args);
      }
      const backend = args.backend as NodeJSKernelBackend; // registered for 'tensorflow' only
      // Stock semantics, element by element: NaN stays NaN, x > 0 gives 1, anything else 0.
      // Four native ops and no JavaScript-side arrays, instead of six ops and two full-size copies.
      return tf.tidy(() => {
        const nans = tf.isNaN(x);
        const positive = tf.cast(tf.greater(x, 0), 'float32');
        return backend.executeSingleOutput('Select', [floatType(backend)], [nans, x, positive]);
      });
    },
  };

  const nativeLeakyReluGrad: KernelConfig = {
    kernelName: NATIVE_LEAKY_RELU_GRAD,
    backendName: NATIVE_BACKEND,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, x } = inputs;
      const alpha = attrs?.alpha;
      if (dy === undefined || x === undefined || typeof alpha !== 'number') {
        throw new Error(`${NATIVE_LEAKY_RELU_GRAD} needs the inputs dy and x and a numeric alpha attribute.`);
      }
      const nodeBackend = backend as NodeJSKernelBackend; // registered for 'tensorflow' only
      // TensorFlow's kernel: dy where x > 0, else alpha * dy (a NaN x gives alpha * dy, as stock).
      const alphaAttr = { name: 'alpha', type: nodeBackend.binding.TF_ATTR_FLOAT, value: alpha };
      return nodeBackend.executeSingleOutput('LeakyReluGrad', [floatType(nodeBackend), alphaAttr], [dy, x]);
    },
  };

  const runNativeLeakyReluGrad = (dy: Tensor, x: Tensor, alpha: number): Tensor =>
    tf.engine().runKernel<Tensor>(NATIVE_LEAKY_RELU_GRAD, { dy, x }, { alpha });

  const leakyReluGradient: GradConfig = {
    ...stockLeakyReluGradient,
    // The output too: for alpha >= 0 it has the sign of x, and a graph that asks for it rather than x
    // lets TensorFlow fuse the convolution, bias and LeakyReLU before it (Grappler's remapper gives
    // up on a training graph whose gradient still reads the unfused sum).
    outputsToSave: [true],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [input, output] = saved;
      const x = typeof attrs.alpha === 'number' && attrs.alpha >= 0 && output !== undefined ? output : input;
      const { alpha } = attrs;
      // The gradient registry is shared by all backends: on the CPU backend (tests switch to it)
      // and for dtypes other than float32 the stock gradient runs.
      if (
        tf.getBackend() !== NATIVE_BACKEND ||
        Array.isArray(dy) ||
        dy.dtype !== 'float32' ||
        x === undefined ||
        x.dtype !== 'float32' ||
        typeof alpha !== 'number'
      ) {
        return stockLeakyReluGradient.gradFunc(dy, saved, attrs);
      }
      return { x: () => runNativeLeakyReluGrad(dy, x, alpha) };
    },
  };

  // The gradient's own gradient (for double backpropagation): linear in dy, flat in x.
  const nativeLeakyReluGradGradient: GradConfig = {
    kernelName: NATIVE_LEAKY_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      const { alpha } = attrs;
      if (Array.isArray(ddy) || x === undefined || typeof alpha !== 'number') {
        throw new Error(
          `The gradient of ${NATIVE_LEAKY_RELU_GRAD} needs one upstream gradient, the saved x and a numeric alpha.`,
        );
      }
      return { dy: () => runNativeLeakyReluGrad(ddy, x, alpha), x: () => tf.zerosLike(x) };
    },
  };

  // registerKernel only warns over an existing entry, so the stock Step is removed first.
  tf.unregisterKernel('Step', NATIVE_BACKEND);
  tf.registerKernel(stepKernel);
  tf.registerKernel(nativeLeakyReluGrad);
  tf.registerGradient(nativeLeakyReluGradGradient);
  tf.registerGradient(leakyReluGradient);
  globalState[STATE_KEY] = { stockStep, stockLeakyReluGradient };
  return true;
}

/**
 * Puts the stock Step kernel and LeakyReLU gradient back (tests and benchmarks compare the two).
 * Does nothing when not installed.
 */
export function uninstallNativeKernels(tf: TensorFlowApi): void {
  const state = globalState[STATE_KEY];
  if (state === undefined) return;
  tf.unregisterKernel('Step', NATIVE_BACKEND);
  tf.registerKernel(state.stockStep);
  tf.unregisterKernel(NATIVE_LEAKY_RELU_GRAD, NATIVE_BACKEND);
  tf.unregisterGradient(NATIVE_LEAKY_RELU_GRAD);
  tf.registerGradient(state.stockLeakyReluGradient);
  delete globalState[STATE_KEY];
}
