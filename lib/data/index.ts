/**
 * MNIST data: load (full set if downloaded, else the embedded test set), scale, batch.
 * `loadMnist()` -> `toImageTensor(train, { range: 'tanh' })` -> train.
 */
export * from './idx';
export * from './mnist';
export * from './batches';
export * from './pixelRange';
