/** The project's TensorFlow.js namespace, on the native backend: `import { tf } from '../lib'`. */
import * as tf from './tfjs';

export { tf };
