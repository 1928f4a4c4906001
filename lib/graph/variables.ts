/**
 * The graph's variables: one TensorFlow resource variable per tfjs weight or optimizer slot
 * (VariableStore), and one step's reads and writes of them (StepReads).
 */
import { DataType, type GraphBuilder, type Output } from './builder';

/** The attribute of the ops that read and write a float32 resource variable. */
export const FLOAT_VARIABLE = { dtype: { type: DataType.float } } as const;

/** Resource variables of the graph, one per tfjs variable or optimizer slot, by name. */
export class VariableStore {
  readonly handles = new Map<string, { handle: Output; shape: number[] }>();
  constructor(private readonly graph: GraphBuilder) {}

  handle(name: string, shape: number[]): Output {
    let entry = this.handles.get(name);
    if (!entry) {
      const handle = this.graph.op1(
        'VarHandleOp',
        [],
        {
          dtype: { type: DataType.float },
          shape: { shape },
          shared_name: { s: `v${this.handles.size}` },
          container: { s: '' },
        },
        { name: `var/${name}` },
      );
      entry = { handle, shape };
      this.handles.set(name, entry);
    }
    return entry.handle;
  }
}

/** One step's view of the variables: each is read once, so every use sees the same snapshot. */
export class StepReads {
  private readonly reads = new Map<string, Output>();
  /** The step's writes; its result waits for them. */
  readonly assigns: Output[] = [];
  constructor(
    private readonly graph: GraphBuilder,
    private readonly store: VariableStore,
  ) {}

  read(name: string, shape: number[]): Output {
    let value = this.reads.get(name);
    if (!value) {
      const handle = this.store.handle(name, shape);
      value = this.graph.op1('ReadVariableOp', [handle], FLOAT_VARIABLE, { name: `read/${name}` });
      this.reads.set(name, value);
    }
    return value;
  }

  assign(name: string, shape: number[], value: Output): void {
    const handle = this.store.handle(name, shape);
    this.update(this.graph.op1('AssignVariableOp', [handle, value], FLOAT_VARIABLE, { name: `assign/${name}` }));
  }

  /** The variable's resource handle, for ops that update it in place. */
  handle(name: string, shape: number[]): Output {
    return this.store.handle(name, shape);
  }

  /** Records a node that changes variables; the step's result waits for it. */
  update(node: Output): void {
    this.assigns.push(node);
  }
}
