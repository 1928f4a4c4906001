/** Training loops for the notebooks: the GAN and the autoencoders, with progress and checkpoints. */
export * from './gan';
export * from './fit';
export * from './checkpoint';
export * from './divergence';
export {
  chooseGanEngine,
  chooseModelEngine,
  compiled,
  releaseTrainingGraph,
  syncWeights,
  type CompiledModel,
  type CompiledOptions,
  type EngineChoice,
  type StepOptions,
  type TrainingEngine,
} from './engine';
export { requestInterrupt, TrainingInterrupted } from './interrupt';
export * from './monitor';
export * from './saved';
export * from './vae';
export { releaseOnRerun } from './rerun';
