/**
 * A program of steps in one TensorFlow session (design (a) prototype): resource variables for the
 * models' weights and the optimizers' slots, steps that read them, compute a loss and its gradients
 * (autodiff.ts), and write the updates (Adam as TensorFlow's fused ResourceApplyAdam op).
 * Every write of a step waits for every read of that step, so a step sees the values of its start.
 */
import type { Tensor } from '@tensorflow/tfjs-node';
import { tf } from '../../../lib/tf';
import { DataType, FLOAT_OP, type Output } from '../../../lib/graph/builder';
import { GraphSession } from '../../../lib/graph/session';
import { AutoGraph, type Sym } from './autodiff';

const FLOAT_VARIABLE = { dtype: { type: DataType.float } } as const;

export interface ResourceVar {
  readonly handle: Output;
  readonly shape: number[];
  /** The value pushed when the session starts (a tf.Variable's is fed as is, others are disposed after). */
  readonly initial: () => Tensor;
}

/** What a tfjs layer weight offers (tfjs-layers' LayerVariable). */
export interface WeightLike {
  /** Known sizes for a built layer's weight. */
  readonly shape: Array<number | null>;
  read(): Tensor;
}

/** One step being built: its placeholders, its cached variable reads, its writes. */
export class StepBuilder {
  private readonly cache = new Map<ResourceVar, Sym>();
  private readonly reads: Output[] = [];
  private readonly writes: Array<(control: Output[]) => Output[]> = [];
  readonly placeholders: Output[] = [];
  seed?: Sym;

  /** Where the step's nodes start in the graph (the step builds its nodes in one go). */
  private readonly firstNode: number;

  constructor(
    readonly program: Program,
    readonly name: string,
  ) {
    this.firstNode = program.g.builder.nodeCount;
  }

  get g(): AutoGraph {
    return this.program.g;
  }

  input(shape: number[], dtype: DataType = DataType.float): Sym {
    const placeholder = this.g.builder.placeholder(`${this.name}/input_${this.placeholders.length}`, dtype, shape);
    this.placeholders.push(placeholder);
    return this.g.leaf(placeholder, shape, dtype);
  }

  /** An int32 [2] seed fed at each run, for the step's random draws (Dropout). */
  randomSeed(): Sym {
    this.seed ??= this.g.leaf(
      this.g.builder.placeholder(`${this.name}/seed`, DataType.int32, [2]),
      [2],
      DataType.int32,
    );
    return this.seed;
  }

  /** The variable's value at the start of the step (one read per step). */
  read(variable: ResourceVar): Sym {
    let value = this.cache.get(variable);
    if (!value) {
      const read = this.g.builder.op1('ReadVariableOp', [variable.handle], FLOAT_VARIABLE, { name: 'read' });
      this.reads.push(read);
      value = this.g.leaf(read, variable.shape);
      this.cache.set(variable, value);
    }
    return value;
  }

  weight(weight: WeightLike): Sym {
    return this.read(this.program.weight(weight));
  }

  assign(variable: ResourceVar, value: Sym): void {
    this.writes.push((control) => [
      this.g.builder.op1('AssignVariableOp', [variable.handle, value.out], FLOAT_VARIABLE, { name: 'assign', control }),
    ]);
  }

  /** A write op built once every read of the step is known (it waits for them). */
  write(build: (control: Output[]) => Output[]): void {
    this.writes.push(build);
  }

  /** The step's results, available once its writes are done. */
  finish(results: Sym[]): CompiledStep {
    const writes = this.writes.flatMap((build) => build(this.reads));
    const outputs = results.map((result, i) =>
      this.g.builder.op1('Identity', [result.out], FLOAT_OP, { name: `${this.name}/result_${i}`, control: writes }),
    );
    const ops = this.g.nodeOps().slice(this.firstNode);
    return { placeholders: this.placeholders, seed: this.seed?.out, results: outputs, ops };
  }
}

export interface CompiledStep {
  placeholders: Output[];
  seed?: Output;
  results: Output[];
  /** The op of each node the step added (for counting). */
  ops: string[];
}

export class Program {
  readonly g = new AutoGraph();
  private readonly variables = new Map<object, ResourceVar>();
  private session?: GraphSession;
  private pullFetches: Output[] = [];

  variable(key: object, shape: number[], initial: () => Tensor): ResourceVar {
    let variable = this.variables.get(key);
    if (!variable) {
      const handle = this.g.builder.op1(
        'VarHandleOp',
        [],
        { ...FLOAT_VARIABLE, shape: { shape }, shared_name: { s: `v${this.variables.size}` }, container: { s: '' } },
        { name: 'var' },
      );
      variable = { handle, shape, initial };
      this.variables.set(key, variable);
    }
    return variable;
  }

  /** The resource variable of a tfjs weight (its value pushed when the session starts). */
  weight(weight: WeightLike): ResourceVar {
    return this.variable(weight, weight.shape as number[], () => weight.read());
  }

  step(name: string): StepBuilder {
    return new StepBuilder(this, name);
  }

  /** Builds the push and pull parts, starts the session and pushes every variable's initial value. */
  start(): void {
    const { builder } = this.g;
    const feeds: Array<[Output, Tensor]> = [];
    const assigns: Output[] = [];
    for (const variable of this.variables.values()) {
      const placeholder = builder.placeholder('push', DataType.float, variable.shape);
      feeds.push([placeholder, variable.initial()]);
      assigns.push(builder.op1('AssignVariableOp', [variable.handle, placeholder], FLOAT_VARIABLE));
      this.pullFetches.push(builder.op1('ReadVariableOp', [variable.handle], FLOAT_VARIABLE, { name: 'pull' }));
    }
    const done = builder.op1('Identity', [builder.constFloat(0)], FLOAT_OP, { name: 'push_done', control: assigns });
    this.session = new GraphSession(builder);
    tf.dispose(this.session.run(feeds, [done]));
    tf.dispose(feeds.map(([, tensor]) => tensor).filter((tensor) => !(tensor instanceof tf.Variable)));
  }

  run(step: CompiledStep, inputs: Tensor[], seed = 0): Tensor[] {
    const session = this.session;
    if (!session) throw new Error('Program.run: call start() first');
    return tf.tidy(() => {
      const feeds: Array<[Output, Tensor]> = step.placeholders.map((placeholder, i) => [placeholder, inputs[i]]);
      if (step.seed) feeds.push([step.seed, tf.tensor1d([seed | 0, 0x5eed], 'int32')]);
      return session.run(feeds, step.results);
    });
  }

  /** Every variable's current value in the session, by the key it was created with. */
  values(): Map<object, Float32Array> {
    const session = this.session;
    if (!session) throw new Error('Program.values: call start() first');
    const tensors = session.run([], this.pullFetches);
    const keys = [...this.variables.keys()];
    const values = new Map(keys.map((key, i) => [key, tensors[i].dataSync() as Float32Array]));
    tf.dispose(tensors);
    return values;
  }

  dispose(): void {
    this.session?.dispose();
    this.session = undefined;
  }
}

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * Adam as tfjs defines it (accBeta = beta^t, epsilon added to the bias-corrected sqrt(v)), run by
 * TensorFlow's fused ResourceApplyAdam: its epsilon is added before bias correction, so it gets
 * epsilon * sqrt(1 - beta2^t), which makes the two updates equal.
 */
export class Adam {
  private readonly slots = new Map<ResourceVar, [ResourceVar, ResourceVar]>();
  private readonly beta1Power: ResourceVar;
  private readonly beta2Power: ResourceVar;

  constructor(
    private readonly program: Program,
    private readonly settings: AdamSettings,
  ) {
    this.beta1Power = program.variable({}, [], () => tf.scalar(settings.beta1));
    this.beta2Power = program.variable({}, [], () => tf.scalar(settings.beta2));
  }

  private slotsOf(variable: ResourceVar): [ResourceVar, ResourceVar] {
    let slots = this.slots.get(variable);
    if (!slots) {
      const zeros = () => tf.zeros(variable.shape);
      slots = [this.program.variable({}, variable.shape, zeros), this.program.variable({}, variable.shape, zeros)];
      this.slots.set(variable, slots);
    }
    return slots;
  }

  /** Adds to `step` the gradients of `loss` and the update of `weights`; returns the gradients. */
  minimize(step: StepBuilder, loss: Sym, weights: WeightLike[]): Sym[] {
    const { g } = step;
    const variables = weights.map((weight) => this.program.weight(weight));
    const grads = g.gradients(
      loss,
      variables.map((variable) => step.read(variable)),
    );
    const { learningRate, beta1, beta2, epsilon } = this.settings;
    const b1 = step.read(this.beta1Power);
    const b2 = step.read(this.beta2Power);
    const epsilonHat = g.mul(g.scalar(epsilon), g.unary('Sqrt', g.sub(g.scalar(1), b2)));
    const [lr, beta1Const, beta2Const] = [learningRate, beta1, beta2].map((value) => g.scalar(value));
    step.write((control) =>
      variables.map((variable, i) => {
        const [m, v] = this.slotsOf(variable);
        const inputs = [variable.handle, m.handle, v.handle, b1.out, b2.out, lr.out, beta1Const.out, beta2Const.out];
        return g.builder.op1(
          'ResourceApplyAdam',
          [...inputs, epsilonHat.out, grads[i].out],
          { ...FLOAT_OP, use_locking: { b: false }, use_nesterov: { b: false } },
          { name: 'adam', control },
        );
      }),
    );
    step.assign(this.beta1Power, g.mul(b1, beta1Const));
    step.assign(this.beta2Power, g.mul(b2, beta2Const));
    return grads;
  }
}
