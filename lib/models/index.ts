/** Models of the chapter: the DCGAN and two autoencoders, plus a Keras-style summary. */
export * from './dcgan';
export * from './convAutoencoder';
export * from './autoencoder2d';
export * from './summary';
export { kernelInitializers, type Initializer } from './initializers';
