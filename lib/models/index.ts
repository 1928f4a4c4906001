/** Models of the chapter: the DCGAN and the three autoencoders, plus a Keras-style summary. */
export * from './dcgan';
export * from './convAutoencoder';
export * from './denseAutoencoder';
export * from './autoencoder2d';
export * from './summary';
export { kernelInitializers, type Initializer } from './initializers';
