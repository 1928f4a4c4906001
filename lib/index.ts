/**
 * What a notebook imports: `import { tf, loadMnist, fit, ... } from '../lib'`. Loading it loads
 * native TensorFlow first and throws a clear error if it is missing.
 *
 * This is the learner's surface: the names the notebooks use and the few the README documents.
 * Everything else stays reachable from its module (`../lib/train`, `../lib/viz`, `../lib/data`,
 * `../lib/models`, `../lib/display`, `../lib/quality`, `../lib/random`); test/unit/surface.test.ts
 * keeps this list and the notebooks' imports in step.
 */
import { LiveView } from './display/monitor';
import { setDefaultView } from './train/monitor';

export { tf } from './tf';
export { backendInfo } from './backend';

// Data: load, scale, batch.
export { epochBatchIndices, loadMnist, randomBatch, sampleDigits, toFlatTensor, toImageTensor } from './data';
export { createRng, deriveSeed } from './random';

// Settings: each notebook checks its parameters cell's values before anything is built.
export { checkSettings } from './settings';

// Models: seeded initializers, the Keras-style summary, the library's chapter models.
export { buildConvAutoencoder2d, createDcgan, kernelInitializers, summaryTable } from './models';

// Training: compiled steps, the loops, monitors, saved models.
export {
  compiled,
  disposeDcgan,
  fit,
  loadTrainedModels,
  releaseOnRerun,
  releaseTrainingGraph,
  saveTrainedModels,
  trainGan,
  trainOrLoad,
  type TrainingHistory,
} from './train';

// Pictures and charts, and showing them in the notebook.
export {
  centroidOf,
  codeFigure,
  decodeLatentGrid,
  fixedNoiseStrip,
  ganScoreChart,
  historyChart,
  imageGrid,
  interpolateLatent,
  latentBox,
  latentManifoldImage,
  latentMapChart,
  latentPointsToArray,
  latentScatterChart,
  lossChart,
  metricChart,
  pickDigitMembers,
  randomPointsInBox,
  sideBySide,
  type FixedNoiseSample,
  type IterationScore,
  type LatentBox,
  type LatentPoint,
} from './viz';
export { LiveMonitor, showChart, showImage } from './display';

// Training's own loops (fit, trainGan, the digit classifier) show this bar unless given `progress: false`.
setDefaultView(() => new LiveView({ chart: false }));

// How good generated digits are.
export { digitClassifier, formatDigitScore, scoreDigits } from './quality';
