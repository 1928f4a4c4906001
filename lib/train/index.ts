/** Training loops for the notebooks: the GAN and the autoencoders, with progress and saved models. */
export * from './gan';
export * from './fit';
export * from './divergence';
export {
  compiled,
  releaseTrainingGraph,
  syncWeights,
  type CompiledLoss,
  type CompiledLossOptions,
  type CompiledModel,
  type CompiledOptions,
  type EngineChoice,
  type StepOptions,
  type TrainingEngine,
} from './engine';
export { TrainingInterrupted } from './interrupt';
export * from './monitor';
export * from './saved';
export { releaseOnRerun } from './rerun';
