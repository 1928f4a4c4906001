/**
 * A training program: one TensorFlow graph holding the models' variables, the optimizers'
 * slots and the steps (train steps and inference passes) built from tfjs models, run in one
 * native session. This is how Keras trains (a traced graph per step) and what makes the
 * project's training as fast as Keras's; eager tfjs dispatches every op separately and never
 * gets TensorFlow's graph optimisations.
 *
 * The tfjs models stay the source of truth outside training: `push()` copies their weights and
 * optimizer state into the session, `pull()` copies the session's back (bit for bit), so
 * predict, evaluate, checkpoints and summaries see the trained values.
 */
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { DT, FLOAT as F, GraphBuilder, type Output } from './builder';
import { chainLayers, lowerLayer, StepReads, UnsupportedModelError, VariableStore, type LayerLike, type LayerVariableLike } from './lower';
import { GraphOptimizer, type Binding } from './optimizers';
import { GraphSession } from './session';
import { collectedTrainableWeights, compiledLoss, layerVariables } from './tfjsInternals';

export type GraphLoss = 'binaryCrossentropy' | 'meanSquaredError';

const LOSS_NAMES: Record<string, GraphLoss> = {
  binaryCrossentropy: 'binaryCrossentropy', binary_crossentropy: 'binaryCrossentropy',
  meanSquaredError: 'meanSquaredError', mean_squared_error: 'meanSquaredError', mse: 'meanSquaredError', MSE: 'meanSquaredError',
};

/** The loss a compiled model trains with, if the graph engine handles it. */
export function graphLossOf(model: LayersModel): GraphLoss {
  const loss = compiledLoss(model);
  const name = typeof loss === 'string' ? LOSS_NAMES[loss] : undefined;
  if (!name) throw new UnsupportedModelError(`model "${model.name}": loss ${typeof loss === 'string' ? `"${loss}"` : 'function'} is not supported by the graph engine (binaryCrossentropy, meanSquaredError).`);
  return name;
}

export type GraphMetric = 'binaryAccuracy';

/** The metrics trainOnBatch reports after the loss, if the graph engine computes them. */
export function graphMetricsOf(model: LayersModel): GraphMetric[] {
  const loss = graphLossOf(model);
  return model.metricsNames.slice(1).map((metric) => {
    // tfjs resolves 'accuracy' (reported as "acc") to binaryAccuracy for a binary cross-entropy loss.
    if ((metric === 'acc' || metric === 'accuracy') && loss === 'binaryCrossentropy') return 'binaryAccuracy';
    throw new UnsupportedModelError(`model "${model.name}": metric "${metric}" is not supported by the graph engine (accuracy with binaryCrossentropy is).`);
  });
}

/** The variables the model's optimizer updates, in the order tfjs passes them to it. */
export function optimizerVariables(model: LayersModel): LayerVariableLike[] {
  const collected = collectedTrainableWeights(model);
  if (!collected) throw new UnsupportedModelError(`model "${model.name}" is not compiled.`);
  // tfjs skips variables whose layer is frozen *now* (trainable = false after compile); that
  // run-time rule is left to the eager engine rather than baked into a cached graph.
  const frozen = collected.filter((v) => !v.trainable);
  if (frozen.length > 0) throw new UnsupportedModelError(`model "${model.name}": ${frozen.length} of the variables its optimizer trains are frozen now (trainable = false), e.g. ${frozen[0].name}.`);
  return collected;
}

function checkInputShape(inputShape: ReadonlyArray<number | null>, owner: string): void {
  if (!inputShape.every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new UnsupportedModelError(`model "${owner}": input shape [${inputShape.map(String)}] must be known apart from the batch for the graph engine.`);
  }
}

export interface TrainStepHandle {
  input: Output;
  target: Output;
  seed?: Output;
  loss: Output;
  /** The model's metrics (binary accuracy), in trainOnBatch's order after the loss. */
  metrics: Output[];
  optimizer: GraphOptimizer;
  learningRate: Output;
}

export interface InferenceHandle {
  input: Output;
  output: Output;
}

export interface TrainStepSpec {
  name: string;
  /** Layers run in order (nested models expanded), e.g. chainLayers(model). */
  layers: LayerLike[];
  /** Input shape without the batch dimension. */
  inputShape: number[];
  loss: GraphLoss;
  metrics?: GraphMetric[];
  /** The model whose optimizer (and optimizer variable list) this step uses. */
  model: LayersModel;
}

export class GraphProgram {
  readonly g = new GraphBuilder();
  private readonly store = new VariableStore(this.g);
  /** How each graph variable maps to tfjs: model weights and optimizer state, by graph name. */
  private readonly bindings = new Map<string, Binding>();
  private readonly optimizers = new Map<Optimizer, GraphOptimizer>();
  private session: GraphSession | undefined;
  /** True when the session and the tfjs models hold the same values (after push or pull). */
  private inSync = false;
  private pushInputs: Array<{ name: string; placeholder: Output }> = [];
  private pushDone: Output | undefined;
  private pullOutputs: Array<{ name: string; value: Output }> = [];
  private readonly epsilon = tf.backend().epsilon();

  /** Lowers a chain of layers onto `input`, binding their weights to the tfjs variables. */
  forward(reads: StepReads, layers: LayerLike[], inputShape: number[], input: Output, training: boolean, seed?: Output) {
    let x = input;
    let shape: Array<number | null> = [null, ...inputShape];
    const lowered = [];
    let dropoutIndex = 0;
    for (const layer of layers) {
      if (layer.getClassName() === 'Dropout') dropoutIndex++;
      const result = lowerLayer({ g: this.g, reads, training, seed }, layer, x, shape, dropoutIndex);
      for (const variable of layerVariables(layer)) {
        // Copies go through the variable's watch: another session holding the same weights
        // (a VAE's) syncs first; the owner's own listener ignores its copies (train/engine.ts).
        this.bindings.set(variable.name, { shape: variable.shape, read: () => variable.read(), write: (value) => void variable.write(value) });
      }
      lowered.push(result);
      x = result.output;
      shape = layer.computeOutputShape(shape) as Array<number | null>;
    }
    return { output: x, lowered };
  }

  /** A fresh view of the variables for one more step or pass. */
  newStepReads(): StepReads {
    return new StepReads(this.g, this.store);
  }

  /** The graph side of a tfjs optimizer that trains `variables` (in tfjs's slot order). */
  optimizerFor(tfjsOptimizer: Optimizer, variables: LayerVariableLike[], owner: string): GraphOptimizer {
    let optimizer = this.optimizers.get(tfjsOptimizer);
    if (!optimizer) {
      optimizer = new GraphOptimizer(tfjsOptimizer, `opt${this.optimizers.size}`, variables, owner);
      this.optimizers.set(tfjsOptimizer, optimizer);
      for (const [name, binding] of optimizer.bindings()) this.bindings.set(name, binding);
    } else if (optimizer.variables !== variables) {
      // tfjs keeps slots by position, so one optimizer object serving two models' variable
      // lists mixes their state up; the graph would update the first model's variables.
      throw new UnsupportedModelError(`${owner} shares its optimizer object with another model; give each model its own.`);
    }
    return optimizer;
  }

  /** Adds an inference pass (Dropout off, BatchNormalization on its moving statistics). */
  addInference(name: string, layers: LayerLike[], inputShape: number[]): InferenceHandle {
    checkInputShape(inputShape, name);
    const reads = new StepReads(this.g, this.store);
    const input = this.g.placeholder(`${name}/input`, DT.float, [-1, ...inputShape]);
    const { output } = this.forward(reads, layers, inputShape, input, false);
    return { input, output: this.g.op1('Identity', [output], F, { name: `${name}/output` }) };
  }

  /** Adds a training step: forward in training mode, loss, backward, optimizer, BN statistics. */
  addTrainStep(spec: TrainStepSpec): TrainStepHandle {
    const { g } = this;
    const tfjsOptimizer = spec.model.optimizer;
    if (!tfjsOptimizer) throw new UnsupportedModelError(`model "${spec.model.name}" is not compiled.`);
    const optimizer = this.optimizerFor(tfjsOptimizer, optimizerVariables(spec.model), `model "${spec.model.name}"`);
    checkInputShape(spec.inputShape, spec.model.name);
    const reads = new StepReads(g, this.store);
    const input = g.placeholder(`${spec.name}/input`, DT.float, [-1, ...spec.inputShape]);
    const needsSeed = spec.layers.some((layer) => layer.getClassName() === 'Dropout');
    const seed = needsSeed ? g.placeholder(`${spec.name}/seed`, DT.int32, [2]) : undefined;
    const { output, lowered } = this.forward(reads, spec.layers, spec.inputShape, input, true, seed);
    const target = g.placeholder(`${spec.name}/target`, DT.float, null);

    // Loss: the mean over every element, as tfjs's per-sample mean followed by the batch mean.
    const count = g.toFloat(g.op1('Size', [output], { ...F, out_type: { type: DT.int32 } }), DT.int32);
    const meanAll = (t: Output) => g.op1('Mean', [g.reshape(t, [-1]), g.constInt([0])], { ...F, Tidx: { type: DT.int32 }, keep_dims: { b: false } });
    let loss: Output;
    let dOutput: Output;
    if (spec.loss === 'meanSquaredError') {
      loss = meanAll(g.op1('SquaredDifference', [output, target], F));
      dOutput = g.op1('Mul', [g.op1('Sub', [output, target], F), g.op1('RealDiv', [g.constFloat(2), count], F)], F);
    } else {
      // tfjs's binary cross-entropy on probabilities: clip to [eps, 1 - eps], turn into logits,
      // then the stable sigmoid cross-entropy. Its gradient is (p - y) / (p (1 - p)) inside the
      // clip range and 0 outside.
      const eps = this.epsilon;
      const clipped = g.op1('ClipByValue', [output, g.constFloat(eps), g.constFloat(1 - eps)], F);
      const oneMinus = g.op1('Sub', [g.constFloat(1), clipped], F);
      const logits = g.op1('Log', [g.op1('RealDiv', [clipped, oneMinus], F)], F);
      const perElement = g.op1('Add', [
        g.op1('Sub', [g.op1('Relu', [logits], F), g.op1('Mul', [logits, target], F)], F),
        g.op1('Log1p', [g.op1('Exp', [g.op1('Neg', [g.op1('Abs', [logits], F)], F)], F)], F),
      ], F);
      loss = meanAll(perElement);
      const inRange = g.toFloat(g.op1('LogicalAnd', [
        g.op1('GreaterEqual', [output, g.constFloat(eps)], F), g.op1('LessEqual', [output, g.constFloat(1 - eps)], F),
      ]), DT.bool);
      const slope = g.op1('RealDiv', [g.op1('Sub', [clipped, target], F), g.op1('Mul', [clipped, oneMinus], F)], F);
      dOutput = g.op1('RealDiv', [g.op1('Mul', [slope, inRange], F), count], F);
    }

    // Backward through the chain; the first layer's input gradient is not needed.
    const grads = new Map<string, Output>();
    let dy: Output | undefined = dOutput;
    for (let i = lowered.length - 1; i >= 0 && dy; i--) {
      const backward = lowered[i].backward;
      if (!backward) throw new UnsupportedModelError(`${spec.layers[i].name}: no gradient in inference mode.`);
      dy = backward(dy, grads, i > 0);
    }

    optimizer.buildUpdate(g, reads, grads, spec.name);
    // Fetching the loss runs every update first.
    const lossOut = g.op1('Identity', [loss], F, { name: `${spec.name}/loss`, control: reads.assigns });
    // Metrics on the same forward pass as the loss (before the update), as trainOnBatch reports them.
    const metrics = (spec.metrics ?? []).map(() => {
      const predicted = g.toFloat(g.op1('Greater', [output, g.constFloat(0.5)], F), DT.bool);
      const hits = g.toFloat(g.op1('Equal', [target, predicted], { ...F, incompatible_shape_error: { b: true } }), DT.bool);
      return meanAll(hits);
    });
    return { input, target, seed, loss: lossOut, metrics, optimizer, learningRate: optimizer.learningRate(g) };
  }

  /** Builds the push/pull parts and starts the session. Call once, after adding the steps. */
  start(): void {
    if (this.session) throw new Error('GraphProgram.start: already started.');
    const { g } = this;
    const assigns: Output[] = [];
    for (const [name, { handle, shape }] of this.store.handles) {
      const placeholder = g.placeholder(`push/${name}`, DT.float, shape);
      this.pushInputs.push({ name, placeholder });
      assigns.push(g.op1('AssignVariableOp', [handle, placeholder], { dtype: { type: DT.float } }));
      this.pullOutputs.push({ name, value: g.op1('ReadVariableOp', [handle], { dtype: { type: DT.float } }, { name: `pull/${name}` }) });
    }
    this.pushDone = g.op1('Identity', [g.constFloat(0)], F, { name: 'push_done', control: assigns });
    this.session = new GraphSession(g);
  }

  /** Copies the models' weights and optimizer state into the session. */
  push(): void {
    if (!this.session || !this.pushDone) throw new Error('GraphProgram.push: call start() first.');
    const zeros: Tensor[] = [];
    try {
      const feeds: Array<[Output, Tensor]> = this.pushInputs.map(({ name, placeholder }) => {
        const binding = this.binding(name);
        let value = binding.read();
        if (!value) zeros.push(value = tf.zeros(binding.shape));
        return [placeholder, value];
      });
      tf.dispose(this.session.run(feeds, [this.pushDone]));
    } finally {
      tf.dispose(zeros);
    }
    for (const optimizer of this.optimizers.values()) optimizer.stepsSincePush = 0;
    this.inSync = true;
  }

  /** Copies the session's variables back into the tfjs models and optimizers. */
  pull(): void {
    if (!this.session) throw new Error('GraphProgram.pull: call start() first.');
    // Nothing trained since the last copy (say, the loop's final sync right after an epoch's).
    if (this.inSync) return;
    const values = this.session.run([], this.pullOutputs.map((p) => p.value));
    try {
      this.pullOutputs.forEach(({ name }, i) => this.binding(name).write(values[i]));
    } finally {
      tf.dispose(values);
    }
    for (const optimizer of this.optimizers.values()) optimizer.addSteps();
    this.inSync = true;
  }

  private binding(name: string): Binding {
    const binding = this.bindings.get(name);
    if (!binding) throw new Error(`GraphProgram: no tfjs value for graph variable ${name}.`);
    return binding;
  }

  /** Runs a train step; returns its loss and metrics (scalar tensors the caller disposes). */
  runTrainStep(step: TrainStepHandle, input: Tensor, target: Tensor, seed?: Tensor): Tensor[] {
    if (!this.session) throw new Error('GraphProgram: call start() first.');
    const session = this.session;
    if (step.seed && !seed) throw new Error('GraphProgram.runTrainStep: this step has Dropout and needs a seed tensor.');
    return tf.tidy(() => {
      // trainOnBatch takes integer inputs and labels and computes in float32; so does the graph.
      const asFloat = (t: Tensor) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
      const feeds: Array<[Output, Tensor]> = [
        [step.input, asFloat(input)], [step.target, asFloat(target)],
        [step.learningRate, tf.scalar(step.optimizer.currentLearningRate())],
      ];
      if (step.seed && seed) feeds.push([step.seed, seed]);
      const results = session.run(feeds, [step.loss, ...step.metrics]);
      step.optimizer.stepsSincePush += 1;
      this.inSync = false;
      return results;
    });
  }

  /**
   * Runs a step built outside addTrainStep: feeds `optimizer`'s learning rate with `feeds` and
   * returns `fetches` (tensors the caller disposes). With `updates` false the step is taken to
   * change no variable (an evaluation), so the session stays in sync with tfjs.
   */
  runStep(optimizer: GraphOptimizer, feeds: Array<[Output, Tensor]>, fetches: Output[], updates = true): Tensor[] {
    if (!this.session) throw new Error('GraphProgram: call start() first.');
    const session = this.session;
    return tf.tidy(() => {
      const results = session.run([...feeds, [optimizer.learningRate(this.g), tf.scalar(optimizer.currentLearningRate())]], fetches);
      if (updates) {
        optimizer.stepsSincePush += 1;
        this.inSync = false;
      }
      return results;
    });
  }

  runInference(pass: InferenceHandle, input: Tensor): Tensor {
    if (!this.session) throw new Error('GraphProgram: call start() first.');
    const session = this.session;
    return tf.tidy(() => session.run([[pass.input, input.dtype === 'float32' ? input : tf.cast(input, 'float32')]], [pass.output])[0]);
  }

  dispose(): void {
    this.session?.dispose();
    this.session = undefined;
  }
}

export { chainLayers, UnsupportedModelError };
