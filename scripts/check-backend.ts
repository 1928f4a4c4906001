/**
 * Prints which TensorFlow.js backend is active and which TensorFlow C library it runs on.
 * Exits non-zero (with the library's explanation) when the native backend is missing.
 */
import { backendInfo, tf } from '../lib';

const info = backendInfo(tf);
console.log(`tf.getBackend() = ${info.backend}`);
console.log(`TensorFlow.js ${info.tfjsVersion}; binding built against TensorFlow ${info.tensorflowVersion}`);
if (info.librarySource) console.log(`TensorFlow C library: ${info.librarySource}`);
console.log(
  info.copiesJsData
    ? 'binding: copies JS data into TensorFlow memory (patched, scripts/tfjs-node/README.md)'
    : 'binding: SHARES JS memory with TensorFlow (stock tfjs-node; can corrupt the heap): run `npm run setup`',
);
