/**
 * The notebook toolchain for scripts, tests and the benchmark: the headless runner with its
 * parameters and profiles, the JupyterLab launcher, headless Chromium and the README figures.
 * It lives apart from lib/ because notebooks never import it and it loads dev-only packages
 * (the TypeScript compiler, playwright-core); test/unit/layering.test.ts keeps it that way.
 */
export * from './ipynb';
export * from './parameters';
export * from './profiles';
export * from './runner';
export * from './figures';
export * from './lab';
export * from './browser';
export * from './edition';
