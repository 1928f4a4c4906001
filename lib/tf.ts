/**
 * The project's TensorFlow.js namespace, on the native backend: `import { tf } from '../lib'`.
 *
 * The native-backend check runs when this module loads, before anything uses a tensor; if it
 * fails, importing the library throws the explanation from backend.ts. The API is re-exported
 * from @tensorflow/tfjs, the package tfjs-node itself re-exports, so one engine serves both,
 * and `tf.Tensor4D` works as a type as well as a value namespace.
 */
import { loadNativeTensorFlow } from './backend';
import { installNativeKernels } from './nativeKernels';

// Cheaper ReLU/LeakyReLU gradients on the native backend (a no-op on the debugging CPU backend
// and when already installed): see lib/nativeKernels.ts.
installNativeKernels(loadNativeTensorFlow());

export * as tf from '@tensorflow/tfjs';
