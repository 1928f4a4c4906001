/** Training loops for the notebooks: the GAN and the autoencoders, with progress and checkpoints. */
export * from './gan';
export * from './autoencoder';
export * from './progress';
export * from './checkpoint';
export * from './divergence';
export * from './saved';
export { chooseGanEngine, chooseModelEngine, releaseTrainingGraph, type EngineChoice, type TrainingEngine } from './engine';
