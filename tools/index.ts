/**
 * The notebook toolchain (runner, parameters, profiles) for scripts and tests. Not part of
 * lib/index.ts: notebooks never need it, and it loads the TypeScript compiler.
 */
export * from './ipynb';
export * from './parameters';
export * from './profiles';
export * from './runner';
export * from './figures';
export * from './lab';
export * from './browser';
