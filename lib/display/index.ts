/** Notebook output: the kernel bridge, charts and images shown in tslab, saved to files, and training's live view. */
export * from './kernel';
export * from './show';
export * from './monitor';
