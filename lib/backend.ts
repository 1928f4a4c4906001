/**
 * Loads TensorFlow.js on its native backend (@tensorflow/tfjs-node, TensorFlow's C library).
 *
 * Training here is only practical natively: the pure-JS CPU backend needs minutes for one DCGAN
 * iteration and the wasm backend lacks Conv2DBackpropFilter. So a missing native backend is an
 * error that says what is missing and how to fix it, never a silent fallback.
 */
import * as fs from 'fs';
import * as path from 'path';

export type TensorFlow = typeof import('@tensorflow/tfjs-node');
/** The tensor API shared by the native and pure-JS packages (what lib/tf.ts exports). */
export type TensorFlowApi = typeof import('@tensorflow/tfjs');

/** The command that installs everything, including the native backend. */
export const SETUP_COMMAND = 'npm run setup';

/** Set to 1 to run on the slow pure-JS CPU backend when the native one is missing (debugging only). */
export const ALLOW_CPU_BACKEND_ENV = 'GAN_NOTEBOOKS_ALLOW_CPU_BACKEND';

export const NATIVE_MODULE_ID = '@tensorflow/tfjs-node';

export class NativeBackendError extends Error {
  override readonly name = 'NativeBackendError';
}

/** Where tfjs-node keeps what it needs at run time, for the error message. */
function describeMissingPieces(moduleId: string, searchFrom: string): string[] {
  let packageJson: string;
  try {
    packageJson = require.resolve(`${moduleId}/package.json`, { paths: [searchFrom] });
  } catch {
    return [`the npm package ${moduleId} is not installed`];
  }
  const packageDir = path.dirname(packageJson);
  const missing: string[] = [];
  const bindingDirs = fs.existsSync(path.join(packageDir, 'lib'))
    ? fs.readdirSync(path.join(packageDir, 'lib')).filter((name) => name.startsWith('napi-v'))
    : [];
  const hasBinding = bindingDirs.some((dir) => fs.existsSync(path.join(packageDir, 'lib', dir, 'tfjs_binding.node')));
  if (!hasBinding) missing.push(`the compiled binding ${path.join(packageDir, 'lib/napi-v*/tfjs_binding.node')}`);
  const depsLib = path.join(packageDir, 'deps', 'lib');
  const libraries = fs.existsSync(depsLib) ? fs.readdirSync(depsLib) : [];
  if (!libraries.some((name) => name.startsWith('libtensorflow'))) {
    missing.push(`the TensorFlow C library in ${depsLib}`);
  }
  return missing;
}

/**
 * Requires the native backend and checks that it is active.
 * `moduleId` is a parameter so tests can show the error for a module that does not load.
 */
export function loadNativeTensorFlow(
  moduleId: string = NATIVE_MODULE_ID,
  env: NodeJS.ProcessEnv = process.env,
): TensorFlow {
  // TensorFlow's C++ start-up chatter (oneDNN, CPU features) would clutter every notebook.
  env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  let tf: TensorFlow;
  try {
    // require, not import: the failure must become an actionable error, not a raw loader trace.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a guarded native load, as said above
    tf = require(moduleId) as TensorFlow;
  } catch (cause) {
    if (env[ALLOW_CPU_BACKEND_ENV] === '1') {
      process.emitWarning(
        `${moduleId} did not load; ${ALLOW_CPU_BACKEND_ENV}=1 selects the pure-JS CPU backend, ` +
          'which is far too slow for training. Use it for debugging only.',
      );
      // The pure-JS package has the same tensor API; only tf.node (file I/O helpers) is absent.
      // In Node it picks its CPU backend by itself (WebGL is unavailable).
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the debugging fallback loads only when asked
      return require('@tensorflow/tfjs') as unknown as TensorFlow;
    }
    const missing = describeMissingPieces(moduleId, __dirname);
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new NativeBackendError(
      `The native TensorFlow backend (${moduleId}) could not be loaded.\n` +
        (missing.length ? `Missing: ${missing.join('; ')}.\n` : '') +
        `Loader said: ${reason}\n` +
        `Fix: run \`${SETUP_COMMAND}\` in the project folder; it installs the TensorFlow C library ` +
        '(downloaded by tfjs-node, or taken from the TensorFlow wheel on PyPI when offline) and builds the binding.\n' +
        `(For debugging only, ${ALLOW_CPU_BACKEND_ENV}=1 runs on the slow pure-JS CPU backend instead.)`,
      { cause },
    );
  }
  if (tf.getBackend() !== 'tensorflow') {
    throw new NativeBackendError(
      `${moduleId} loaded but the active backend is "${tf.getBackend()}", not "tensorflow". ` +
        `Run \`${SETUP_COMMAND}\` to rebuild the native binding.`,
    );
  }
  if (!bindingCopiesJsData(tf)) process.emitWarning(UNSAFE_BINDING_WARNING);
  return tf;
}

export const UNSAFE_BINDING_WARNING =
  'this tfjs-node binding shares JavaScript memory with TensorFlow, which can corrupt the heap when TensorFlow ' +
  `releases it on one of its own threads. Run \`${SETUP_COMMAND}\` to build the patched binding ` +
  '(scripts/tfjs-node/README.md).';

/** The parts of tfjs-node's native binding the probe below calls. */
export interface TensorBinding {
  TF_FLOAT: number;
  createTensor(shape: number[], dtype: number, values: Float32Array): number;
  tensorDataSync(id: number): Float32Array;
  deleteTensor(id: number): void;
}

/**
 * Whether the native binding copies a typed array into memory TensorFlow owns when it makes a
 * tensor of it (the patched binding that scripts/setup.sh builds), rather than sharing it.
 * Stock tfjs-node shares every typed array TensorFlow finds aligned, so writing into the array
 * afterwards shows through in the tensor; about one array in four is aligned, so 64 arrays tell
 * the two apart (all 64 unaligned by chance: odds below 1e-7). Takes about a millisecond.
 */
export function bindingCopiesJsData(tf: TensorFlowApi): boolean {
  // The binding is an internal of NodeJSKernelBackend (as in backendInfo).
  const binding = (tf.backend() as unknown as { binding?: TensorBinding }).binding;
  if (!binding) return true; // no native binding: nothing is shared
  for (let i = 0; i < 64; i++) {
    const values = new Float32Array(1024 + 16 * i);
    const id = binding.createTensor([values.length], binding.TF_FLOAT, values);
    values[0] = 1;
    const seen = binding.tensorDataSync(id)[0];
    binding.deleteTensor(id);
    if (seen === 1) return false;
  }
  return true;
}

export interface BackendInfo {
  /** tf.getBackend(): "tensorflow" when native. */
  backend: string;
  /** Version of TensorFlow.js. */
  tfjsVersion: string;
  /** TF_Version() of the TensorFlow C library the binding is linked with. */
  tensorflowVersion: string;
  /** Where that library came from, as recorded by scripts/setup.sh (absent if tfjs-node set itself up). */
  librarySource?: string;
  /** Whether the binding copies JS data into TensorFlow's memory (the patched build; see bindingCopiesJsData). */
  copiesJsData: boolean;
}

export function backendInfo(tf: TensorFlowApi): BackendInfo {
  // The binding is an internal of NodeJSKernelBackend; TF_Version is a plain string on it.
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  const info: BackendInfo = {
    backend: tf.getBackend(),
    tfjsVersion: tf.version.tfjs ?? 'unknown',
    tensorflowVersion: backend.binding?.TF_Version ?? 'unknown',
    copiesJsData: bindingCopiesJsData(tf),
  };
  try {
    const packageDir = path.dirname(require.resolve(`${NATIVE_MODULE_ID}/package.json`));
    const recordPath = path.join(packageDir, 'deps', 'SOURCE.txt');
    if (fs.existsSync(recordPath)) info.librarySource = fs.readFileSync(recordPath, 'utf8').trim();
  } catch {
    // No record: tfjs-node installed its own download.
  }
  return info;
}
