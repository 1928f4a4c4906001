/**
 * Records one eager step as a TensorFlow graph, the way tf.function traces Python: every tfjs-node
 * kernel ends in one call on the native backend that names a TensorFlow op, its attributes and its
 * inputs (`executeSingleOutput` / `executeMultipleOutputs`). While a step runs, those calls are
 * recorded, so the trace holds the forward pass, tfjs's own gradients and the optimizer's updates,
 * whatever layers, losses and optimizer the step used (with TensorFlow's fused kernels for Adam,
 * BatchNormalization and ReLU's gradient: see useFusedKernels).
 *
 * What each recorded input is:
 * - the output of an earlier recorded op;
 * - a tf.Variable's value at the start of the step (a model weight, an optimizer slot): the graph
 *   reads the variable; a variable holding a new value at the end of the step is written back;
 * - one of the step's inputs (a batch): fed at each run;
 * - a tensor made from JavaScript numbers during the step (tf.scalar(2), a reshape's shape): a
 *   constant, so a JavaScript value the step reads is fixed when it is traced;
 * - the seed of a random draw (tf.randomNormal, tf.randomUniform, tf.truncatedNormal, dropout's
 *   mask): every step draws with TensorFlow's stateless random ops (withRandomDraws), eager or not, so
 *   the graph's draws are the eager ones; the seed is fed at each run;
 * - any other tensor that existed before the step (a tensor the step's closure holds): a constant
 *   too (tfjs tensors never change), as tf.function captures it.
 * Reading a value back to JavaScript inside the step (dataSync, array) cannot be part of a graph:
 * the trace stops with TraceError, as tf.function does.
 */
import { createRequire } from 'node:module';
import type { GradConfig, GradSaveFunc, Tensor, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { DataType, type AttrValue, type ConstTensor } from './builder';
import { UnsupportedModelError } from './errors';
import type { LayerVariableLike } from './tfjsInternals';
import opInputTypes from './opInputTypes.json';

/** A step that cannot be traced (it reads values back, or draws random numbers the graph cannot). */
export class TraceError extends UnsupportedModelError {}

/** Where a recorded input comes from: an op's output, or a source (see the file comment). */
export type Ref = { node: number; index: number } | { source: number };

export type Source =
  | { kind: 'variable'; variable: Variable }
  | { kind: 'input'; index: number; tensor: Tensor }
  | { kind: 'constant'; value: ConstTensor }
  | { kind: 'seed'; offset: number };

export interface TracedOp {
  op: string;
  attrs: Record<string, AttrValue>;
  inputs: Ref[];
  outputs: number;
  /** The outputs' tfjs dtypes (for the outputs a step returns). */
  dtypes: string[];
}

export interface Trace {
  ops: TracedOp[];
  sources: Source[];
  /** The step's results, in order. */
  results: Ref[];
  /** Variables that hold a new value after the step, and that value. */
  updates: Array<{ variable: Variable; value: Ref }>;
  /**
   * Adam's updates, as TensorFlow's fused ResourceApplyAdam on [weight, m, v] with its seven inputs
   * (beta1 power, beta2 power, learning rate, beta1, beta2, epsilon, gradient): one op per weight
   * instead of the dozen tfjs's Adam runs (see adamUpdates below).
   */
  fused: Array<{ variables: [Variable, Variable, Variable]; inputs: Ref[] }>;
}

type DataId = object;
interface TensorInfoLike {
  dataId: DataId;
  shape: number[];
  dtype: string;
}
interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}
/** The part of tfjs-node's NodeJSKernelBackend that the trace wraps. */
interface NativeBackend {
  binding: Record<string, number>;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: TensorInfoLike[]): Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: TensorInfoLike[], outputs: number): Tensor[];
  readSync(dataId: DataId): ArrayLike<number>;
}

const TF_TYPES: Record<number, DataType> = {
  1: DataType.float,
  3: DataType.int32,
  9: DataType.int64,
  10: DataType.bool,
};

/** A TFE op attribute (tfjs-node's `{name, type, value}`) as a GraphDef attribute. */
function graphAttr(binding: Record<string, number>, attr: OpAttr, op: string): AttrValue {
  const { type, value } = attr;
  const fail = () => new TraceError(`op ${op}: attribute ${attr.name} (${JSON.stringify(value)}) has no graph form.`);
  if (type === binding.TF_ATTR_INT) return Array.isArray(value) ? { ints: value as number[] } : { i: value as number };
  if (type === binding.TF_ATTR_FLOAT && typeof value === 'number') return { f: value };
  if (type === binding.TF_ATTR_BOOL) return { b: Boolean(value) };
  if (type === binding.TF_ATTR_STRING && typeof value === 'string') return { s: value };
  if (type === binding.TF_ATTR_SHAPE && Array.isArray(value)) return { shape: value as number[] };
  if (type === binding.TF_ATTR_TYPE) {
    if (Array.isArray(value)) return { types: (value as number[]).map((t) => graphType(t, op)) };
    return { type: graphType(value as number, op) };
  }
  throw fail();
}

function graphType(tfType: number, op: string): DataType {
  const type = TF_TYPES[tfType];
  if (type === undefined) throw new TraceError(`op ${op}: TensorFlow type ${tfType} is not supported in a graph step.`);
  return type;
}

/** The largest tensor from outside the step that the graph keeps as a constant (4 MB of float32). */
const MAX_CONSTANT_SIZE = 1 << 20;

const DTYPES: Record<string, DataType> = { float32: DataType.float, int32: DataType.int32, bool: DataType.bool };

/** Per op, the type attribute each input sets; a list input as [its count attribute, its type attribute]. */
type InputTypes = Array<string | null | [string, string | null]>;
const OP_INPUT_TYPES = opInputTypes as unknown as Record<string, InputTypes>;

/**
 * Sets the op's type attributes from its inputs' types, as eager TensorFlow does when it adds an
 * input (tfjs-node relies on it: its Mean declares T from the original tensor, then feeds a float32
 * copy). A GraphDef must state them. Ops missing from the table keep the attributes tfjs gave.
 */
function inferTypeAttrs(op: string, attrs: Record<string, AttrValue>, inputs: TensorInfoLike[]): void {
  const signature = Object.hasOwn(OP_INPUT_TYPES, op) ? OP_INPUT_TYPES[op] : undefined;
  if (!signature) return;
  let position = 0;
  for (const arg of signature) {
    const [count, typeAttr] = Array.isArray(arg) ? [attrs[arg[0]], arg[1]] : [undefined, arg];
    const dtype = inputs[position]?.dtype;
    if (typeAttr && dtype && DTYPES[dtype] !== undefined) attrs[typeAttr] = { type: DTYPES[dtype] };
    position += count && 'i' in count ? count.i : 1;
  }
}

/**
 * Runs `step(inputs)` eagerly while recording it; returns its results and the trace (undefined when
 * the step created variables: then it was a step of its own, such as an optimizer's first).
 */
export function traceStep(
  step: (inputs: Tensor[]) => Tensor[],
  inputs: Tensor[],
  seed: number,
): { results: Tensor[]; trace: Trace | undefined } {
  const backend = tf.backend() as unknown as NativeBackend;
  const engine = tf.engine() as unknown as {
    state: { registeredVariables: Record<string, Variable>; kernelDepth: number };
  };
  const trace: Trace = { ops: [], sources: [], results: [], updates: [], fused: [] };
  const refs = new Map<DataId, Ref>();
  const variablesAtStart = new Map<DataId, Variable>();
  for (const variable of Object.values(engine.state.registeredVariables))
    variablesAtStart.set(variable.dataId, variable);
  // An input passed twice (an autoencoder's x as its own target) is fed once, at its first place.
  const inputIds = new Map<DataId, number>();
  inputs.forEach((tensor, i) => inputIds.has(tensor.dataId) || inputIds.set(tensor.dataId, i));

  const addSource = (dataId: DataId, source: Source): Ref => {
    const ref = { source: trace.sources.push(source) - 1 };
    refs.set(dataId, ref);
    return ref;
  };
  /** Values computed by ops the trace leaves out (an optimizer's own, replaced by a fused update). */
  const unrecorded = new Set<DataId>();
  const refOf = (info: TensorInfoLike): Ref => {
    const known = refs.get(info.dataId);
    if (known) return known;
    if (unrecorded.has(info.dataId)) {
      throw new TraceError("the step uses a value of its optimizer's update; only the update itself compiles.");
    }
    const variable = variablesAtStart.get(info.dataId);
    if (variable) return addSource(info.dataId, { kind: 'variable', variable });
    const input = inputIds.get(info.dataId);
    if (input !== undefined) return addSource(info.dataId, { kind: 'input', index: input, tensor: inputs[input] });
    // Anything else is a tensor (tfjs tensors never change): made from numbers in the step, or held by
    // the step's closure. The graph keeps its value.
    if (info.dtype !== 'float32' && info.dtype !== 'int32') {
      throw new TraceError(`the step uses a ${info.dtype} tensor from outside; only float32 and int32 ones compile.`);
    }
    const values = Array.from(originalReadSync(info.dataId));
    // One value everywhere (a gradient's full-size fill of ones) costs the graph 4 bytes; other large
    // tensors would bloat it: a batch held by the step's closure should be one of its inputs.
    if (values.length > MAX_CONSTANT_SIZE && values.some((value) => !Object.is(value, values[0]))) {
      throw new TraceError(
        `the step uses a tensor of shape [${info.shape}] that it neither takes as an input nor computes ` +
          '(pass it to the step as an input)',
      );
    }
    return addSource(info.dataId, { kind: 'constant', value: { dtype: info.dtype, shape: info.shape, values } });
  };

  let paused = false;
  const record = (name: string, attrs: OpAttr[], inputInfos: TensorInfoLike[], outputs: Tensor[]): void => {
    if (paused) {
      outputs.forEach((tensor) => unrecorded.add(tensor.dataId));
      return;
    }
    const inputsRefs = inputInfos.map(refOf);
    const graphAttrs: Record<string, AttrValue> = {};
    for (const attr of attrs) graphAttrs[attr.name] = graphAttr(backend.binding, attr, name);
    inferTypeAttrs(name, graphAttrs, inputInfos);
    const node =
      trace.ops.push({
        op: name,
        attrs: graphAttrs,
        inputs: inputsRefs,
        outputs: outputs.length,
        dtypes: outputs.map((t) => t.dtype),
      }) - 1;
    outputs.forEach((tensor, index) => refs.set(tensor.dataId, { node, index }));
  };

  const originalSingle = backend.executeSingleOutput;
  const originalMultiple = backend.executeMultipleOutputs;
  const originalReadSync = backend.readSync.bind(backend);
  const onSeed = (seedTensor: Tensor, offset: number): void => {
    addSource(seedTensor.dataId, { kind: 'seed', offset });
  };

  backend.executeSingleOutput = function (name, attrs, inputInfos) {
    const output = originalSingle.call(this, name, attrs, inputInfos);
    record(name, attrs, inputInfos, [output]);
    return output;
  };
  backend.executeMultipleOutputs = function (name, attrs, inputInfos, count) {
    const outputs = originalMultiple.call(this, name, attrs, inputInfos, count);
    record(name, attrs, inputInfos, outputs);
    return outputs;
  };
  backend.readSync = (dataId: DataId) => {
    // A kernel may read its inputs to check them (tfjs-node's gather checks its indices); the op it
    // then runs takes them as tensors, so the graph still computes from each step's values.
    if (engine.state.kernelDepth > 0) return originalReadSync(dataId);
    throw new TraceError(
      'the step reads a tensor back to JavaScript (dataSync, arraySync, data); a compiled step must stay in ' +
        'TensorFlow: return the tensor from the step and read it after.',
    );
  };
  /** Adds an op of the trace's own (the fused update's inputs); returns its output. */
  const addOp = (op: string, inputs: Ref[]): Ref => {
    const attrs = { T: { type: DataType.float } };
    return { node: trace.ops.push({ op, attrs, inputs, outputs: 1, dtypes: ['float32'] }) - 1, index: 0 };
  };
  const constant = (value: number): Ref =>
    addSource({}, { kind: 'constant', value: { dtype: 'float32', shape: [], values: [value] } });
  const fusedVariables = new Set<Variable>();
  const adam = (tfjsCore().AdamOptimizer as { prototype: AdamLike }).prototype;
  const adamApply = adam.applyGradients;
  adam.applyGradients = function applyGradientsFused(this: AdamLike, gradients) {
    const names = Array.isArray(gradients) ? gradients.map((g) => g.name) : Object.keys(gradients);
    const grads = names.map((name, i) => (Array.isArray(gradients) ? gradients[i].tensor : gradients[name]));
    // The slots exist from the step before (a traced step is never an optimizer's first).
    const slots = names.map((_, i) => [this.accumulatedFirstMoment[i], this.accumulatedSecondMoment[i]]);
    if (slots.some(([m, v]) => !m || !v)) return adamApply.call(this, gradients);
    const gradRefs = grads.map((grad) => (grad ? refOf(grad) : undefined));
    const [beta1Power, beta2Power] = [refOf(this.accBeta1), refOf(this.accBeta2)];
    paused = true;
    try {
      adamApply.call(this, gradients);
    } finally {
      paused = false;
    }
    refs.set(this.accBeta1.dataId, addOp('Mul', [beta1Power, constant(this.beta1)]));
    refs.set(this.accBeta2.dataId, addOp('Mul', [beta2Power, constant(this.beta2)]));
    // tfjs divides by sqrt(v / (1 - beta2^t)) + eps; TensorFlow's fused op by sqrt(v) + eps, so it gets
    // eps * sqrt(1 - beta2^t), which makes the two the same update.
    const epsilon = addOp('Mul', [constant(this.epsilon), addOp('Sqrt', [addOp('Sub', [constant(1), beta2Power])])]);
    const settings = [constant(this.learningRate), constant(this.beta1), constant(this.beta2), epsilon];
    names.forEach((name, i) => {
      const grad = gradRefs[i];
      if (!grad) return;
      const variables: [Variable, Variable, Variable] = [
        engine.state.registeredVariables[name],
        slots[i][0]!.variable,
        slots[i][1]!.variable,
      ];
      variables.forEach((variable) => fusedVariables.add(variable));
      trace.fused.push({ variables, inputs: [beta1Power, beta2Power, ...settings, grad] });
    });
  };
  const restoreKernels = useFusedKernels(backend);
  let results: Tensor[];
  try {
    const variableCount = variablesAtStart.size;
    results = withRandomDraws(seed, () => step(inputs), onSeed);
    trace.results = results.map((tensor) => refOf(tensor));
    // A step that creates variables (an optimizer's first, making its slots) is a real step, not a trace.
    if (Object.keys(engine.state.registeredVariables).length > variableCount) return { results, trace: undefined };
    for (const [startId, variable] of variablesAtStart) {
      if (variable.isDisposed || fusedVariables.has(variable) || variable.dataId === startId) continue;
      trace.updates.push({ variable, value: refOf(variable) });
    }
  } finally {
    adam.applyGradients = adamApply;
    restoreKernels();
    delete (backend as unknown as Record<string, unknown>).readSync;
    delete (backend as unknown as Record<string, unknown>).executeSingleOutput;
    delete (backend as unknown as Record<string, unknown>).executeMultipleOutputs;
  }
  return { results, trace };
}

type RandomFn = (...args: unknown[]) => Tensor;

/** tfjs-layers' BatchNormalization, as the fused one reads it (its fields are private in tfjs's types). */
interface BatchNormLike
  extends
    Record<'axis' | 'momentum' | 'epsilon', number>,
    Record<'center' | 'scale', boolean>,
    Record<'gamma' | 'beta' | 'movingMean' | 'movingVariance', LayerVariableLike> {
  call(inputs: Tensor | Tensor[], kwargs: { training?: boolean }): Tensor;
}

/**
 * While a step is traced, TensorFlow's fused kernels replace tfjs's elementwise compositions: for
 * BatchNormalization in training, FusedBatchNormV3 and its gradient; for ReLU's gradient, ReluGrad on
 * the output, which also lets Grappler fuse a convolution, its bias and the ReLU. The numbers are tfjs's
 * up to rounding (a NaN input's gradient is 0, not NaN). Returns what puts tfjs's own back.
 */
function useFusedKernels(backend: NativeBackend): () => void {
  const { binding } = backend;
  const attr = (name: string, type: string, value: unknown) => ({ name, type: binding[`TF_ATTR_${type}`], value });
  const [float, floatU] = ['T', 'U'].map((name) => attr(name, 'TYPE', binding.TF_FLOAT));
  const reluGradient = tf.getGradient('Relu') as GradConfig;
  tf.registerGradient({
    ...reluGradient,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) =>
      saved[1].dtype === 'float32'
        ? { x: () => backend.executeSingleOutput('ReluGrad', [float], [dy as Tensor, saved[1]]) }
        : reluGradient.gradFunc(dy, saved, attrs),
  });
  const { BatchNormalization } = tf.serialization.SerializationMap.getMap().classNameMap;
  const batchNorm = (BatchNormalization[0] as { prototype: BatchNormLike }).prototype;
  const batchNormCall = batchNorm.call;
  batchNorm.call = function fusedBatchNorm(this: BatchNormLike, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = x.rank >= 2 && [-1, x.rank - 1].includes(this.axis) && this.center && this.scale;
    if (!kwargs.training || !lastAxis || x.dtype !== 'float32') return batchNormCall.call(this, inputs, kwargs);
    const attrs = [float, floatU, attr('epsilon', 'FLOAT', this.epsilon)]; // training and NHWC by default
    // The moving averages as tfjs-layers updates them, from the batch's mean and biased variance: on the
    // CPU, the op's reserve spaces 1 and 2 (its batch variance output divides by n - 1).
    const average = (variable: LayerVariableLike, value: Tensor) =>
      variable.write(tf.sub(variable.read(), tf.mul(tf.sub(variable.read(), value), 1 - this.momentum)));
    const normalize = tf.customGrad((input, gamma, beta, save) => {
      const operands = [input, gamma, beta, tf.tensor1d([]), tf.tensor1d([])] as Tensor[];
      const [y, , , mean, variance, reserve] = backend.executeMultipleOutputs('FusedBatchNormV3', attrs, operands, 6);
      average(this.movingMean, mean);
      average(this.movingVariance, variance);
      (save as GradSaveFunc)([input as Tensor, gamma as Tensor, mean, variance, reserve]);
      const gradFunc = (dy: Tensor, saved: Tensor[]) =>
        backend.executeMultipleOutputs('FusedBatchNormGradV3', attrs, [dy, ...saved], 5).slice(0, 3);
      return { value: y, gradFunc };
    });
    return tf.tidy(() => {
      const input = x.rank === 4 ? x : tf.reshape(x, [-1, 1, 1, x.shape[x.rank - 1]]);
      return tf.reshape(normalize(input, this.gamma.read(), this.beta.read()), x.shape);
    });
  };
  return () => {
    tf.registerGradient(reluGradient);
    batchNorm.call = batchNormCall;
  };
}

/** The part of tfjs-core's AdamOptimizer the fused update reads (protected fields). */
interface AdamLike {
  applyGradients(gradients: Record<string, Tensor> | Array<{ name: string; tensor: Tensor }>): void;
  accumulatedFirstMoment: Array<{ variable: Variable } | undefined>;
  accumulatedSecondMoment: Array<{ variable: Variable } | undefined>;
  accBeta1: Variable;
  accBeta2: Variable;
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

/** The second number of a step's seed; a draw adds its place in the step to it. */
export const STEP_SEED_TAG = 0x5eed;

const STATELESS_OPS = {
  normal: 'StatelessRandomNormal',
  truncatedNormal: 'StatelessTruncatedNormal',
  uniform: 'StatelessRandomUniform',
} as const;

/**
 * Runs `run` with tfjs's random functions (randomNormal, randomUniform, truncatedNormal,
 * randomStandardNormal, and dropout, whose mask tfjs draws out of their reach) replaced by
 * TensorFlow's stateless random ops, seeded: the k-th draw of a step gets the seed
 * [seed, STEP_SEED_TAG + k], or [its own seed, k] when it has one (such a draw repeats at every step,
 * as tfjs's seeded draws do). A step therefore draws the same numbers on every engine and in every
 * run with the same seed. `onSeed` hears of each step-seeded draw's seed tensor (the trace feeds it).
 */
export function withRandomDraws<T>(
  seed: number,
  run: () => T,
  onSeed?: (seedTensor: Tensor, offset: number) => void,
): T {
  const core = tfjsCore();
  const names = ['randomNormal', 'randomUniform', 'truncatedNormal', 'randomStandardNormal', 'dropout'] as const;
  const original = Object.fromEntries(names.map((name) => [name, core[name]])) as Record<
    (typeof names)[number],
    RandomFn
  >;
  const backend = tf.backend() as unknown as NativeBackend;
  let count = 0;
  const draw = (
    distribution: keyof typeof STATELESS_OPS,
    shape: number[],
    a: number,
    b: number,
    dtype: unknown,
    ownSeed: unknown,
  ): Tensor => {
    if (dtype !== undefined && dtype !== 'float32') {
      if (onSeed) throw new TraceError(`the step draws ${String(dtype)} random numbers; the graph draws float32 only.`);
      return original[distribution === 'uniform' ? 'randomUniform' : 'randomNormal'](shape, a, b, dtype, ownSeed);
    }
    count += 1;
    const own = typeof ownSeed === 'number';
    const seedTensor = tf.tensor1d(own ? [ownSeed | 0, count] : [seed | 0, STEP_SEED_TAG + count], 'int32');
    if (!own) onSeed?.(seedTensor, count);
    const shapeTensor = tf.tensor1d(shape, 'int32');
    const type = (name: string, value: number) => ({ name, type: backend.binding.TF_ATTR_TYPE, value });
    const unit = backend.executeSingleOutput(
      STATELESS_OPS[distribution],
      [
        type('dtype', backend.binding.TF_FLOAT),
        type('T', backend.binding.TF_INT32),
        type('Tseed', backend.binding.TF_INT32),
      ],
      [shapeTensor, seedTensor],
    );
    // normal: mean a, deviation b; uniform: from a to b.
    const result = tf.tidy(() => tf.add(tf.mul(unit, distribution === 'uniform' ? b - a : b), a));
    tf.dispose([unit, shapeTensor, seedTensor]);
    return result;
  };
  const wrapped: Record<(typeof names)[number], RandomFn> = {
    randomNormal: (shape, mean = 0, stdDev = 1, dtype, ownSeed) =>
      draw('normal', shape as number[], mean as number, stdDev as number, dtype, ownSeed),
    randomStandardNormal: (shape, dtype, ownSeed) => draw('normal', shape as number[], 0, 1, dtype, ownSeed),
    truncatedNormal: (shape, mean = 0, stdDev = 1, dtype, ownSeed) =>
      draw('truncatedNormal', shape as number[], mean as number, stdDev as number, dtype, ownSeed),
    randomUniform: (shape, minval = 0, maxval = 1, dtype, ownSeed) =>
      draw('uniform', shape as number[], minval as number, maxval as number, dtype, ownSeed),
    // tfjs's dropout: x * floor(u + keep) / keep, with u uniform on [0, 1).
    dropout: (x, rate, noiseShape, ownSeed) => {
      const input = x as Tensor;
      if ((rate as number) === 0) return input.clone();
      const keep = 1 - (rate as number);
      // tfjs fills a noise shape's null entries from x's shape.
      const shape = ((noiseShape as Array<number | null> | undefined) ?? input.shape).map(
        (n, i) => n ?? input.shape[i],
      );
      return tf.tidy(() => {
        const u = wrapped.randomUniform(shape, 0, 1, 'float32', ownSeed);
        return tf.mul(input, tf.div(tf.floor(tf.add(u, keep)), keep));
      });
    },
  };
  Object.assign(core, wrapped);
  try {
    return run();
  } finally {
    Object.assign(core, original);
  }
}

/**
 * tfjs-core's own exports object (not an import's read-only namespace view): tfjs-layers and the
 * `tf` namespace read the random functions from it at each call, so replacing them there reaches
 * every caller.
 */
function tfjsCore(): Record<string, unknown> {
  return createRequire(__filename)('@tensorflow/tfjs-core') as Record<string, unknown>;
}

/** A text that is equal for two traces exactly when they compute the same thing. */
export function traceKey(trace: Trace): string {
  const ref = (r: Ref) => ('source' in r ? `s${r.source}` : `${r.node}:${r.index}`);
  const sources = trace.sources.map((source) => {
    switch (source.kind) {
      case 'variable':
        return `v ${source.variable.name}`;
      case 'input':
        return `i ${source.index} ${source.tensor.dtype}[${source.tensor.shape}]`;
      case 'constant':
        return `c ${source.value.dtype}[${source.value.shape}] ${Array.from(source.value.values).join(',')}`;
      case 'seed':
        return `seed +${source.offset}`;
    }
  });
  const ops = trace.ops.map((op) => `${op.op} ${JSON.stringify(op.attrs)} ${op.inputs.map(ref).join(' ')}`);
  const updates = trace.updates.map((u) => `${u.variable.name}=${ref(u.value)}`);
  const fused = trace.fused.map((f) => `adam ${f.variables.map((v) => v.name)} ${f.inputs.map(ref).join(' ')}`);
  return [...sources, ...ops, `results ${trace.results.map(ref).join(' ')}`, ...updates, ...fused].join('\n');
}
