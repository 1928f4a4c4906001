/**
 * A program of traced steps (trace.ts) in one TensorFlow session: the steps share the variables
 * they read and write (one resource variable per tf.Variable), so the models that share weights,
 * such as a GAN's discriminator, generator and combined model, see each other's updates at once.
 *
 * The tf.Variables stay the source of truth outside the session: `push()` copies their values in,
 * `pull()` copies the session's values back, bit for bit.
 */
import type { Tensor, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { DataType, GraphBuilder, type Output } from './builder';
import { GraphSession } from './session';
import { STEP_SEED_TAG, TraceError, type Ref, type Trace } from './trace';

const FLOAT_VARIABLE = { dtype: { type: DataType.float } } as const;
const INT_OP = { T: { type: DataType.int32 } } as const;

/** A traced step added to a program: what to feed and fetch when it runs. */
export interface CompiledStep {
  readonly trace: Trace;
  readonly inputs: Output[];
  /** int32 [2]: the seed of the step's random draws, fed at each run (absent without draws). */
  readonly seed?: Output;
  readonly results: Output[];
}

export class TracedProgram {
  private readonly graph = new GraphBuilder();
  private readonly variables = new Map<Variable, Output>();
  private session: GraphSession | undefined;
  private pushFeeds: Array<[Variable, Output]> = [];
  private pushDone: Output | undefined;
  private pullFetches: Array<[Variable, Output]> = [];

  private handle(variable: Variable): Output {
    let handle = this.variables.get(variable);
    if (!handle) {
      if (variable.dtype !== 'float32') {
        throw new TraceError(`variable ${variable.name} is ${variable.dtype}; the graph holds float32 variables.`);
      }
      handle = this.graph.op1(
        'VarHandleOp',
        [],
        {
          dtype: { type: DataType.float },
          shape: { shape: variable.shape },
          shared_name: { s: `v${this.variables.size}` },
          container: { s: '' },
        },
        { name: 'var' },
      );
      this.variables.set(variable, handle);
    }
    return handle;
  }

  /** Adds a traced step. */
  add(trace: Trace, name: string): CompiledStep {
    const { graph } = this;
    const reads: Output[] = [];
    const inputs: Output[] = [];
    let seed: Output | undefined;
    const sources = trace.sources.map((source): Output => {
      switch (source.kind) {
        case 'variable': {
          const read = graph.op1('ReadVariableOp', [this.handle(source.variable)], FLOAT_VARIABLE, { name: 'read' });
          reads.push(read);
          return read;
        }
        case 'input': {
          const dtype = source.tensor.dtype === 'int32' ? DataType.int32 : DataType.float;
          const placeholder = graph.placeholder(`${name}/input_${source.index}`, dtype, source.tensor.shape);
          inputs[source.index] = placeholder;
          return placeholder;
        }
        case 'constant':
          return graph.constTensor(source.value);
        case 'seed':
          // The draw's seed: the step's, fed at each run, plus the draw's place in the step.
          seed ??= graph.placeholder(`${name}/seed`, DataType.int32, [2]);
          return graph.op1('Add', [seed, graph.constInt([0, source.offset])], INT_OP);
      }
    });
    const nodes: Output[][] = [];
    const output = (ref: Ref): Output => ('source' in ref ? sources[ref.source] : nodes[ref.node][ref.index]);
    for (const op of trace.ops) {
      nodes.push(graph.op(op.op, op.inputs.map(output), op.attrs, { outputs: op.outputs }));
    }
    // Every write waits for every read, so each op of the step sees the values from its start.
    const fused = trace.fused.map(
      ({ variables, inputs }) =>
        graph.op(
          'ResourceApplyAdam',
          [...variables.map((variable) => this.handle(variable)), ...inputs.map(output)],
          { T: { type: DataType.float }, use_locking: { b: false }, use_nesterov: { b: false } },
          { name: 'adam', outputs: 1, control: reads },
        )[0],
    );
    const assigns = trace.updates.map(({ variable, value }) =>
      graph.op1('AssignVariableOp', [this.handle(variable), output(value)], FLOAT_VARIABLE, {
        name: 'assign',
        control: reads,
      }),
    );
    const results = trace.results.map((ref, i) =>
      graph.op1(
        'Identity',
        [output(ref)],
        { T: { type: dtypeOf(trace, ref) } },
        { name: `${name}/result_${i}`, control: [...assigns, ...fused] },
      ),
    );
    return { trace, inputs, seed, results };
  }

  /** Builds the copy-in and copy-out parts and starts the session (`config`: its ConfigProto, if any). */
  start(config?: Uint8Array): void {
    const { graph } = this;
    const assigns: Output[] = [];
    for (const [variable, handle] of this.variables) {
      const placeholder = graph.placeholder('push', DataType.float, variable.shape);
      this.pushFeeds.push([variable, placeholder]);
      assigns.push(graph.op1('AssignVariableOp', [handle, placeholder], FLOAT_VARIABLE));
      this.pullFetches.push([variable, graph.op1('ReadVariableOp', [handle], FLOAT_VARIABLE, { name: 'pull' })]);
    }
    this.pushDone = graph.op1(
      'Identity',
      [graph.constFloat(0)],
      { T: { type: DataType.float } },
      { name: 'push_done', control: assigns },
    );
    this.session = new GraphSession(graph, config);
  }

  push(): void {
    if (!this.session || !this.pushDone) throw new Error('TracedProgram.push: call start() first.');
    tf.dispose(
      this.session.run(
        this.pushFeeds.map(([variable, placeholder]) => [placeholder, variable]),
        [this.pushDone],
      ),
    );
  }

  pull(): void {
    if (!this.session) throw new Error('TracedProgram.pull: call start() first.');
    const values = this.session.run(
      [],
      this.pullFetches.map(([, fetch]) => fetch),
    );
    // A variable disposed since (an optimizer let go before its model) has nothing left to update.
    this.pullFetches.forEach(([variable], i) => variable.isDisposed || variable.assign(values[i]));
    tf.dispose(values);
  }

  run(step: CompiledStep, inputs: Tensor[], seed: number): Tensor[] {
    if (!this.session) throw new Error('TracedProgram.run: call start() first.');
    const session = this.session;
    return tf.tidy(() => {
      const feeds: Array<[Output, Tensor]> = [];
      step.inputs.forEach((placeholder, i) => feeds.push([placeholder, inputs[i]]));
      if (step.seed) feeds.push([step.seed, tf.tensor1d([seed | 0, STEP_SEED_TAG], 'int32')]);
      return session.run(feeds, step.results);
    });
  }

  dispose(): void {
    this.session?.dispose();
    this.session = undefined;
  }
}

function dtypeOf(trace: Trace, ref: Ref): DataType {
  if ('source' in ref) return DataType.float;
  return trace.ops[ref.node].dtypes[ref.index] === 'int32' ? DataType.int32 : DataType.float;
}
