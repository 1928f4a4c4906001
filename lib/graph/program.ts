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
 *
 * A train step is built from the parts beside this file: the layers' forward ops and gradients
 * (layers.ts), the loss and its gradient (losses.ts), the optimizer's update (optimizers.ts).
 */
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { DataType, FLOAT_OP, GraphBuilder, type Output } from './builder';
import { UnsupportedModelError } from './errors';
import {
  backpropagate,
  chainLayers,
  lowerLayer,
  type LayerLike,
  type LoweredLayer,
  type WeightGradients,
} from './layers';
import { graphLossOf, graphMetricsOf, lowerLoss, lowerMetric, type GraphLoss, type GraphMetric } from './losses';
import { GraphOptimizer, type Binding } from './optimizers';
import { GraphSession } from './session';
import { collectedTrainableWeights, layerVariables, type LayerVariableLike } from './tfjsInternals';
import { FLOAT_VARIABLE, StepReads, VariableStore } from './variables';

// What the training engine (lib/train) uses of the graph compiler, in one import.
export { chainLayers, graphLossOf, graphMetricsOf, UnsupportedModelError };

/** The variables the model's optimizer updates, in the order tfjs passes them to it. */
export function optimizerVariables(model: LayersModel): LayerVariableLike[] {
  const collected = collectedTrainableWeights(model);
  if (!collected) throw new UnsupportedModelError(`model "${model.name}" is not compiled.`);
  // tfjs skips variables whose layer is frozen *now* (trainable = false after compile); that
  // run-time rule is left to the eager engine rather than baked into a cached graph.
  const frozen = collected.filter((variable) => !variable.trainable);
  if (frozen.length > 0) {
    throw new UnsupportedModelError(
      `model "${model.name}": ${frozen.length} of the variables its optimizer trains are frozen now ` +
        `(trainable = false), e.g. ${frozen[0].name}.`,
    );
  }
  return collected;
}

function checkInputShape(inputShape: ReadonlyArray<number | null>, owner: string): void {
  if (!inputShape.every((dim) => Number.isInteger(dim) && (dim as number) > 0)) {
    throw new UnsupportedModelError(
      `model "${owner}": input shape [${inputShape.map(String)}] must be known apart from the batch ` +
        'for the graph engine.',
    );
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
  readonly graph = new GraphBuilder();
  private readonly store = new VariableStore(this.graph);
  /** How each graph variable maps to tfjs: model weights and optimizer state, by graph name. */
  private readonly bindings = new Map<string, Binding>();
  /** The graph names of the optimizers' state (slots, Adam's step counters), apart from the weights. */
  private readonly optimizerState = new Set<string>();
  private readonly optimizers = new Map<Optimizer, GraphOptimizer>();
  private session: GraphSession | undefined;
  /** True when the session and the tfjs models hold the same values (after push or pull). */
  private inSync = false;
  private pushInputs: Array<{ name: string; placeholder: Output }> = [];
  private pushDone: Output | undefined;
  private pullOutputs: Array<{ name: string; value: Output }> = [];

  /** Lowers a chain of layers onto `input`, binding their weights to the tfjs variables. */
  forward(
    reads: StepReads,
    layers: LayerLike[],
    inputShape: number[],
    input: Output,
    training: boolean,
    seed?: Output,
  ): { output: Output; lowered: LoweredLayer[] } {
    let activations = input;
    let shape: Array<number | null> = [null, ...inputShape];
    const lowered: LoweredLayer[] = [];
    let dropoutIndex = 0;
    for (const layer of layers) {
      if (layer.getClassName() === 'Dropout') dropoutIndex++;
      const context = { graph: this.graph, reads, training, seed };
      const result = lowerLayer(context, layer, activations, shape, dropoutIndex);
      for (const variable of layerVariables(layer)) {
        // Copies go through the variable's watch: another session holding the same weights
        // (a VAE's) syncs first; the owner's own listener ignores its copies (train/engine.ts).
        this.bindings.set(variable.name, {
          shape: variable.shape,
          read: () => variable.read(),
          write: (value) => void variable.write(value),
        });
      }
      lowered.push(result);
      activations = result.output;
      shape = layer.computeOutputShape(shape) as Array<number | null>;
    }
    return { output: activations, lowered };
  }

  /** A fresh view of the variables for one more step or pass. */
  newStepReads(): StepReads {
    return new StepReads(this.graph, this.store);
  }

  /** The graph side of a tfjs optimizer that trains `variables` (in tfjs's slot order). */
  optimizerFor(tfjsOptimizer: Optimizer, variables: LayerVariableLike[], owner: string): GraphOptimizer {
    let optimizer = this.optimizers.get(tfjsOptimizer);
    if (!optimizer) {
      optimizer = new GraphOptimizer(tfjsOptimizer, `opt${this.optimizers.size}`, variables, owner);
      this.optimizers.set(tfjsOptimizer, optimizer);
      for (const [name, binding] of optimizer.bindings()) {
        this.bindings.set(name, binding);
        this.optimizerState.add(name);
      }
    } else if (optimizer.variables !== variables) {
      // tfjs keeps slots by position, so one optimizer object serving two models' variable
      // lists mixes their state up; the graph would update the first model's variables.
      throw new UnsupportedModelError(
        `${owner} shares its optimizer object with another model; give each model its own.`,
      );
    }
    return optimizer;
  }

  /** Adds an inference pass (Dropout off, BatchNormalization on its moving statistics). */
  addInference(name: string, layers: LayerLike[], inputShape: number[]): InferenceHandle {
    checkInputShape(inputShape, name);
    const reads = new StepReads(this.graph, this.store);
    const input = this.graph.placeholder(`${name}/input`, DataType.float, [-1, ...inputShape]);
    const { output } = this.forward(reads, layers, inputShape, input, false);
    return { input, output: this.graph.op1('Identity', [output], FLOAT_OP, { name: `${name}/output` }) };
  }

  /** Adds a training step: forward in training mode, loss, backward, optimizer, BN statistics. */
  addTrainStep(spec: TrainStepSpec): TrainStepHandle {
    const { graph } = this;
    const tfjsOptimizer = spec.model.optimizer;
    if (!tfjsOptimizer) throw new UnsupportedModelError(`model "${spec.model.name}" is not compiled.`);
    const optimizer = this.optimizerFor(tfjsOptimizer, optimizerVariables(spec.model), `model "${spec.model.name}"`);
    checkInputShape(spec.inputShape, spec.model.name);
    const reads = new StepReads(graph, this.store);
    const input = graph.placeholder(`${spec.name}/input`, DataType.float, [-1, ...spec.inputShape]);
    const needsSeed = spec.layers.some((layer) => layer.getClassName() === 'Dropout');
    const seed = needsSeed ? graph.placeholder(`${spec.name}/seed`, DataType.int32, [2]) : undefined;
    const { output, lowered } = this.forward(reads, spec.layers, spec.inputShape, input, true, seed);
    const target = graph.placeholder(`${spec.name}/target`, DataType.float, null);
    const { loss, predictionGrad } = lowerLoss(graph, spec.loss, output, target);

    // Backward through the chain; the first layer's input gradient is not needed.
    const weightGradients: WeightGradients = new Map();
    backpropagate(lowered, spec.layers, predictionGrad, weightGradients, false);

    optimizer.buildUpdate(graph, reads, weightGradients, spec.name);
    // Fetching the loss runs every update first.
    const lossOutput = graph.op1('Identity', [loss], FLOAT_OP, { name: `${spec.name}/loss`, control: reads.assigns });
    // Metrics on the same forward pass as the loss (before the update), as trainOnBatch reports them.
    const metrics = (spec.metrics ?? []).map((metric) => lowerMetric(graph, metric, output, target));
    return { input, target, seed, loss: lossOutput, metrics, optimizer, learningRate: optimizer.learningRate(graph) };
  }

  /** Builds the push/pull parts and starts the session. Call once, after adding the steps. */
  start(): void {
    if (this.session) throw new Error('GraphProgram.start: already started.');
    const { graph } = this;
    const assigns: Output[] = [];
    for (const [name, { handle, shape }] of this.store.handles) {
      const placeholder = graph.placeholder(`push/${name}`, DataType.float, shape);
      this.pushInputs.push({ name, placeholder });
      assigns.push(graph.op1('AssignVariableOp', [handle, placeholder], FLOAT_VARIABLE));
      const value = graph.op1('ReadVariableOp', [handle], FLOAT_VARIABLE, { name: `pull/${name}` });
      this.pullOutputs.push({ name, value });
    }
    this.pushDone = graph.op1('Identity', [graph.constFloat(0)], FLOAT_OP, { name: 'push_done', control: assigns });
    this.session = new GraphSession(graph);
  }

  /** Copies the models' weights and optimizer state into the session. */
  push(): void {
    if (!this.session || !this.pushDone) throw new Error('GraphProgram.push: call start() first.');
    const zeros: Tensor[] = [];
    try {
      const feeds: Array<[Output, Tensor]> = this.pushInputs.map(({ name, placeholder }) => {
        const binding = this.binding(name);
        let value = binding.read();
        if (!value) zeros.push((value = tf.zeros(binding.shape)));
        return [placeholder, value];
      });
      tf.dispose(this.session.run(feeds, [this.pushDone]));
    } finally {
      tf.dispose(zeros);
    }
    for (const optimizer of this.optimizers.values()) optimizer.stepsSincePush = 0;
    this.inSync = true;
  }

  /**
   * Copies the session's variables back into the tfjs models and optimizers. With `weightsOnly`,
   * only the models' weights: for a session let go because its weights are being disposed, where
   * the optimizer may be disposed already and new slots in it would be tensors nobody frees.
   */
  pull(weightsOnly = false): void {
    if (!this.session) throw new Error('GraphProgram.pull: call start() first.');
    // Nothing trained since the last copy (say, the loop's final sync right after an epoch's).
    if (this.inSync) return;
    const pulled = this.pullOutputs.filter(({ name }) => !(weightsOnly && this.optimizerState.has(name)));
    const values = this.session.run(
      [],
      pulled.map(({ value }) => value),
    );
    try {
      pulled.forEach(({ name }, i) => this.binding(name).write(values[i]));
    } finally {
      tf.dispose(values);
    }
    if (weightsOnly) return; // the optimizers' state in tfjs stays behind the session's
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
    if (step.seed && !seed) {
      throw new Error('GraphProgram.runTrainStep: this step has Dropout and needs a seed tensor.');
    }
    return tf.tidy(() => {
      // trainOnBatch takes integer inputs and labels and computes in float32; so does the graph.
      const feeds: Array<[Output, Tensor]> = [
        [step.input, asFloat32(input)],
        [step.target, asFloat32(target)],
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
      const learningRate: [Output, Tensor] = [
        optimizer.learningRate(this.graph),
        tf.scalar(optimizer.currentLearningRate()),
      ];
      const results = session.run([...feeds, learningRate], fetches);
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
    return tf.tidy(() => session.run([[pass.input, asFloat32(input)]], [pass.output])[0]);
  }

  dispose(): void {
    this.session?.dispose();
    this.session = undefined;
  }
}

function asFloat32(tensor: Tensor): Tensor {
  return tensor.dtype === 'float32' ? tensor : tf.cast(tensor, 'float32');
}
