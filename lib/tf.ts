/** The project's one TensorFlow.js instance, on the native backend (see backend.ts). */
import { loadNativeTensorFlow } from './backend';

export const tf = loadNativeTensorFlow();
