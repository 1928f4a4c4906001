/**
 * tfjs's Adam and Adadelta as graph ops, with their state bound to the tfjs optimizer objects.
 *
 * The update arithmetic is written exactly as tfjs-core writes it (including where epsilon
 * goes), so the graph engine and tfjs's eager `trainOnBatch` train the same way and a run can
 * switch engines between calls. Slots use tfjs's own names (`<variable>/m`, `/accum_grad`, ...)
 * so `optimizer.getWeights()` and checkpoints look the same after either engine.
 */
import type { Optimizer, Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { DataType, FLOAT_OP, type GraphBuilder, type Output } from './builder';
import { UnsupportedModelError } from './errors';
import type { WeightGradients } from './layers';
import {
  adadeltaState,
  adamState,
  addOptimizerIterations,
  optimizerLearningRate,
  type AdadeltaState,
  type AdamState,
  type LayerVariableLike,
  type SlotList,
} from './tfjsInternals';
import type { StepReads } from './variables';

/** How one graph variable maps to a tfjs value: read for push, write for pull. */
export interface Binding {
  shape: number[];
  /** The current tfjs value, or undefined for state tfjs has not created yet (pushed as zeros). */
  read(): Tensor | undefined;
  write(value: Tensor): void;
}

/** One tfjs optimizer's state in the graph, and its update ops. */
export class GraphOptimizer {
  /** Train steps run in the session since the last push (added to tfjs's step count on pull). */
  stepsSincePush = 0;
  readonly className: 'Adam' | 'Adadelta';

  constructor(
    readonly optimizer: Optimizer,
    readonly prefix: string,
    readonly variables: LayerVariableLike[],
    owner: string,
  ) {
    const className = optimizer.getClassName();
    if (className !== 'Adam' && className !== 'Adadelta') {
      throw new UnsupportedModelError(
        `${owner}: the graph engine trains with Adam or Adadelta; this model's optimizer is ${className}.`,
      );
    }
    this.className = className;
  }

  private get adam(): AdamState {
    return adamState(this.optimizer);
  }

  private get adadelta(): AdadeltaState {
    return adadeltaState(this.optimizer);
  }

  /** The per-variable slot lists, by tfjs's name suffix. */
  private slots(): Array<[string, SlotList]> {
    return this.className === 'Adam'
      ? [
          ['m', this.adam.accumulatedFirstMoment],
          ['v', this.adam.accumulatedSecondMoment],
        ]
      : [
          ['accum_grad', this.adadelta.accumulatedGrads],
          ['accum_var', this.adadelta.accumulatedUpdates],
        ];
  }

  private slotName(variable: LayerVariableLike, suffix: string): string {
    return `${this.prefix}/${variable.name}/${suffix}`;
  }

  /** Every graph variable this optimizer owns, bound to its tfjs value. */
  bindings(): Map<string, Binding> {
    const result = new Map<string, Binding>();
    for (const [suffix] of this.slots()) {
      this.variables.forEach((variable, index) => {
        // The list is looked up on each use: tfjs's setWeights replaces the arrays.
        const list = () => this.slots().find(([slotSuffix]) => slotSuffix === suffix)![1];
        result.set(this.slotName(variable, suffix), {
          shape: variable.shape,
          read: () => list()[index]?.variable,
          write: (value) => {
            const entry = list()[index];
            if (entry) entry.variable.assign(value);
            else list()[index] = { originalName: `${variable.name}/${suffix}`, variable: tf.variable(value, false) };
          },
        });
      });
    }
    if (this.className === 'Adam') {
      for (const key of ['accBeta1', 'accBeta2'] as const) {
        result.set(`${this.prefix}/${key}`, {
          shape: [],
          read: () => this.adam[key],
          write: (value) => this.adam[key].assign(value),
        });
      }
    }
    return result;
  }

  /** tfjs counts applied steps in `iterations`; steps run in the graph count too. */
  addSteps(): void {
    if (this.stepsSincePush > 0) addOptimizerIterations(this.optimizer, this.stepsSincePush);
    this.stepsSincePush = 0;
  }

  private learningRateInput: Output | undefined;

  /**
   * The learning rate, fed from `optimizer.learningRate` at every step, so a schedule that
   * changes it during training (in a callback) takes effect as it does in eager tfjs.
   */
  learningRate(graph: GraphBuilder): Output {
    this.learningRateInput ??= graph.placeholder(`${this.prefix}/learning_rate`, DataType.float, []);
    return this.learningRateInput;
  }

  /** The current learning rate, to feed. */
  currentLearningRate(): number {
    return optimizerLearningRate(this.optimizer);
  }

  /** Adds the update of every variable (gradients by variable name) to the step. */
  buildUpdate(graph: GraphBuilder, reads: StepReads, weightGradients: WeightGradients, stepName: string): void {
    const scalar = (value: number) => graph.constFloat(value);
    const op = (type: string, ...inputs: Output[]) => graph.op1(type, inputs, FLOAT_OP);
    const gradientOf = (variable: LayerVariableLike) => {
      const gradient = weightGradients.get(variable.name);
      if (!gradient) {
        throw new UnsupportedModelError(
          `${variable.name} is trained by ${stepName}'s optimizer but not used by its layers.`,
        );
      }
      return gradient;
    };
    const slot = (variable: LayerVariableLike, suffix: string) => {
      const name = this.slotName(variable, suffix);
      return {
        value: reads.read(name, variable.shape),
        set: (value: Output) => reads.assign(name, variable.shape, value),
      };
    };
    const setWeight = (variable: LayerVariableLike, delta: Output) =>
      reads.assign(variable.name, variable.shape, op('Add', delta, reads.read(variable.name, variable.shape)));

    if (this.className === 'Adam') {
      // tfjs's Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
      // w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps); then b^t *= b.
      // TensorFlow's fused ResourceApplyAdam computes w -= lr_t m / (sqrt(v) + eps') with
      // lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); with eps' = eps sqrt(1 - b2^t) that is the same
      // update, in one kernel per variable instead of a dozen element-wise ones. It updates the
      // variable and its slots in place; reads taken earlier in the step stay snapshots
      // (TensorFlow copies a variable's buffer on write while a read still holds it).
      const { beta1, beta2, epsilon } = this.adam;
      const accBeta1 = reads.read(`${this.prefix}/accBeta1`, []);
      const accBeta2 = reads.read(`${this.prefix}/accBeta2`, []);
      const scaledEpsilon = op('Mul', scalar(epsilon), op('Sqrt', op('Sub', scalar(1), accBeta2)));
      const [learningRate, beta1Value, beta2Value] = [this.learningRate(graph), scalar(beta1), scalar(beta2)];
      for (const variable of this.variables) {
        const handles = [variable.name, this.slotName(variable, 'm'), this.slotName(variable, 'v')].map((name) =>
          reads.handle(name, variable.shape),
        );
        const inputs = [
          ...handles,
          accBeta1,
          accBeta2,
          learningRate,
          beta1Value,
          beta2Value,
          scaledEpsilon,
          gradientOf(variable),
        ];
        reads.update(
          graph.op1(
            'ResourceApplyAdam',
            inputs,
            { ...FLOAT_OP, use_locking: { b: false }, use_nesterov: { b: false } },
            { name: `adam/${variable.name}` },
          ),
        );
      }
      reads.assign(`${this.prefix}/accBeta1`, [], op('Mul', accBeta1, beta1Value));
      reads.assign(`${this.prefix}/accBeta2`, [], op('Mul', accBeta2, beta2Value));
    } else {
      // tfjs's Adadelta: the update scales g by sqrt(accum_var + eps) / sqrt(accum_grad + eps)
      // using the accumulated gradient from *before* this step (Keras uses the new one; both
      // engines here follow tfjs so they agree with each other).
      const { rho, epsilon } = this.adadelta;
      const minusLearningRate = op('Neg', this.learningRate(graph));
      // accumulated * rho + value^2 * (1 - rho)
      const decayingMeanOfSquares = (accumulated: Output, value: Output) =>
        op('Add', op('Mul', accumulated, scalar(rho)), op('Mul', op('Square', value), scalar(1 - rho)));
      // The paper's RMS: sqrt(accumulated + eps).
      const rms = (accumulated: Output) => op('Sqrt', op('Add', accumulated, scalar(epsilon)));
      for (const variable of this.variables) {
        const gradient = gradientOf(variable);
        const [accGrad, accUpdate] = [slot(variable, 'accum_grad'), slot(variable, 'accum_var')];
        const newAccGrad = decayingMeanOfSquares(accGrad.value, gradient);
        const update = op('Mul', op('RealDiv', rms(accUpdate.value), rms(accGrad.value)), gradient);
        const newAccUpdate = decayingMeanOfSquares(accUpdate.value, update);
        accGrad.set(newAccGrad);
        accUpdate.set(newAccUpdate);
        setWeight(variable, op('Mul', update, minusLearningRate));
      }
    }
  }
}
