/**
 * MNIST data: load (full set if downloaded, else the embedded test set), scale, batch.
 * `loadMnist()` -> `toImageTensor(train, { range: 'tanh' })` -> train.
 */
export {
  IdxFormatError,
  IDX_MAGIC,
  isGzip,
  parseIdx,
  readIdxFile,
  type IdxArray,
  type IdxData,
  type IdxDataType,
  type IdxExpectation,
} from './idx';
export {
  DEFAULT_MNIST_DIR,
  DOWNLOAD_COMMAND,
  EMBEDDED_SPLIT,
  MNIST_FILES,
  MNIST_MD5,
  MNIST_PIXELS,
  MNIST_SIDE,
  loadEmbeddedTestSet,
  loadMnist,
  readMnistSplit,
  selectExamples,
  splitEmbedded,
  splitTrainValidation,
  type LoadMnistOptions,
  type MnistData,
  type MnistSplit,
  type SplitOptions,
} from './mnist';
export {
  digitCounts,
  epochBatchIndices,
  randomBatch,
  randomBatchIndices,
  sampleDigits,
  toFlatTensor,
  toImageTensor,
  type ToTensorOptions,
} from './batches';
export { byteFromValue, checkPixelRange, pixelRangeBounds, valueFromByte, type PixelRange } from './pixelRange';
export {
  ALTERNATIVE_MNIST_BASE_URL,
  DEFAULT_MNIST_BASE_URL,
  MNIST_BASE_URL_ENV,
  MNIST_DOWNLOAD_FILES,
  MnistDownloadError,
  createDownloadProgressBar,
  downloadMnist,
  formatDownloadProgress,
  type DownloadFailure,
  type DownloadMnistOptions,
  type DownloadProgress,
  type DownloadProgressBarOptions,
  type DownloadResult,
  type MnistFileSpec,
} from './download';
