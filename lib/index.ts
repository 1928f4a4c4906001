/**
 * The library the notebooks import: `import { tf, ... } from '../lib'`.
 * Loading it loads native TensorFlow first and throws a clear error if it is missing.
 */
export { tf } from './tf';
export { backendInfo, NativeBackendError, type BackendInfo, type TensorFlow, type TensorFlowApi } from './backend';
export * from './models';
export * from './train';
export * from './data';
export * from './viz';
export * from './display';
export * from './quality';
export * from './random';
