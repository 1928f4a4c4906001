/** Notebook output: the kernel bridge, charts and images shown in tslab, and saving them to files. */
export * from './kernel';
export * from './show';
