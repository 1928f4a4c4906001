/**
 * Compiled training steps, the way Keras and tf.function trace a step: `compiled(model)` gives a
 * model's `trainOnBatch` and `predict`, and `compiled(models, { loss, optimizer })` a step on a loss
 * written in the notebook, each run as one TensorFlow graph in a native session.
 *
 * How: an optimizer's first step runs eagerly (it creates its slots); at the next call the step runs
 * twice as dry runs, undone afterwards, while lib/graph/trace.ts records every native op they run:
 * the forward pass, tfjs's own gradients, the optimizer's update. When the two records agree, they
 * become a graph, and that call and every later one with the same shapes and settings run it.
 * Whatever tfjs can run eagerly compiles (any layers, several inputs, a loss written in tfjs ops),
 * unless the step reads a value back to JavaScript, or the two dry runs compute different JavaScript
 * numbers; then, under 'auto', it stays eager and `reason` says why ('graph' throws instead). As with
 * tf.function, a JavaScript value the step reads (a loss's weight) is fixed in the graph when it is
 * traced: a new handle traces afresh. The optimizer's settings and which weights train are watched.
 *
 * Steps that share weights (a GAN's D step, the combined step, G's predict) share one session, so
 * each sees the others' updates at once. The tf.Variables stay the source of truth: any tfjs use of a
 * variable first copies the session's newer values back, and any tfjs write is copied in before the
 * next graph step (lib/graph/tfjsInternals.ts watches them), so cells can read and change the models
 * between steps without thinking about it.
 */
import type { LayersModel, Optimizer, Tensor, Variable } from '@tensorflow/tfjs-node';
import { tf } from '../tf';
import { UnsupportedModelError } from '../graph/errors';
import {
  addOptimizerIterations,
  setOptimizerIterations,
  layerVariables,
  tfjsVersionMismatch,
  trainFunctionOf,
  watchVariable,
} from '../graph/tfjsInternals';
import { traceKey, traceStep, withRandomDraws, type Trace } from '../graph/trace';
import { TracedProgram, type CompiledStep } from '../graph/traced';
import { MIXED_BFLOAT16_CONFIG, trainingPrecision, type Precision } from '../graph/precision';
import { deriveSeed, randomSeed } from '../random';
import { afterStep, beforeStep } from './interrupt';

export type TrainingEngine = 'auto' | 'graph' | 'eager';

export interface EngineChoice {
  engine: 'graph' | 'eager';
  /** Why the eager engine runs the step (empty on the graph engine). */
  reason: string;
}

/** Input shapes and settings a step may be compiled for before it stays eager (tf.function's retracing warning). */
const MAX_SIGNATURES = 8;

const warned = new Set<string>();

/** The engine a request and this process allow, before any step is traced. */
function initialChoice(requested: TrainingEngine | undefined, caller: string): EngineChoice {
  const engine = requested ?? 'auto';
  if (engine !== 'auto' && engine !== 'graph' && engine !== 'eager') {
    throw new Error(`${caller}: options.engine must be 'auto', 'graph' or 'eager'; got ${JSON.stringify(requested)}.`);
  }
  if (engine === 'eager') return { engine: 'eager', reason: 'requested' };
  const why =
    tf.getBackend() !== 'tensorflow'
      ? `the graph engine needs the native backend; the active backend is "${tf.getBackend()}"`
      : tfjsVersionMismatch();
  if (why && engine === 'graph') throw new Error(`${caller}: ${why}; use engine: 'eager', or run \`npm run setup\`.`);
  if (!why) return { engine: 'graph', reason: '' };
  if (!warned.has(why)) {
    warned.add(why);
    console.warn(`${caller}: ${why}; training with tfjs's eager trainOnBatch instead (2-3x slower).`);
  }
  return { engine: 'eager', reason: why };
}

/**
 * A session shared by the compiled steps that use the same variables. The session holds the newest
 * values after a graph step (`sessionNewer`); a tfjs write makes tfjs newer (`tfjsNewer`).
 */
class Workspace {
  readonly steps: Array<{ trace: Trace; precision: Precision; compiled?: CompiledStep }> = [];
  readonly variables = new Set<Variable>();
  private program: TracedProgram | undefined;
  sessionNewer = false;
  tfjsNewer = false;
  /** True while the engine copies values itself: the watch ignores those reads and writes. */
  busy = false;

  /** Adds a step; one session has one precision, so steps compiled for another one leave (they rejoin if run). */
  add(trace: Trace, precision: Precision): void {
    for (const other of this.steps.filter((entry) => entry.precision !== precision)) {
      this.remove(other.trace);
      traceOwners.delete(other.trace);
    }
    this.steps.push({ trace, precision });
    this.rebuildNeeded = true;
  }

  /** Drops a step compiled for settings that changed since (a new compile, another learning rate). */
  remove(trace: Trace): void {
    const at = this.steps.findIndex((entry) => entry.trace === trace);
    if (at < 0) return;
    this.steps.splice(at, 1);
    this.rebuildNeeded = true;
  }

  private rebuildNeeded = false;

  /** The started program holding every step, with tfjs's newer values copied in. */
  ready(): TracedProgram {
    if (!this.program || this.rebuildNeeded) {
      this.dropSession();
      const program = new TracedProgram();
      this.steps.forEach((entry, i) => (entry.compiled = program.add(entry.trace, `step${i}`)));
      program.start(this.steps[0]?.precision === 'mixed_bfloat16' ? MIXED_BFLOAT16_CONFIG : undefined);
      this.program = program;
      this.rebuildNeeded = false;
      this.tfjsNewer = true;
    }
    if (this.tfjsNewer) {
      this.copy(() => this.program?.push());
      this.tfjsNewer = false;
    }
    return this.program;
  }

  /** Copies the session's newer values into the tf.Variables. */
  pull(): void {
    if (!this.program || !this.sessionNewer) return;
    this.copy(() => this.program?.pull());
    this.sessionNewer = false;
  }

  /** Copies the newest values back and frees the session (the next graph step builds a new one). */
  dropSession(): void {
    this.pull();
    this.program?.dispose();
    this.program = undefined;
  }

  copy(run: () => void): void {
    this.busy = true;
    try {
      run();
    } finally {
      this.busy = false;
    }
  }
}

/** While a step runs (eager, or traced), a compiled step called inside it runs inline, as its ops. */
let stepDepth = 0;

/**
 * The workspaces of each model's compiled steps, held strongly: a session holding trained values
 * lives as long as the models it trains (a handle may be dropped while they stay).
 */
const modelWorkspaces = new WeakMap<LayersModel, Set<Workspace>>();

/**
 * The workspace each variable's compiled steps run in, and each trace's. tfjs keeps every variable
 * until it is disposed, so variables only point weakly at their workspace: a workspace lives as long
 * as a step that uses it (held by its models and handles), and a model dropped without dispose lets
 * the garbage collector delete its session (lib/graph/session.ts).
 */
const owners = new WeakMap<Variable, WeakRef<Workspace>>();
const traceOwners = new WeakMap<Trace, Workspace>();

function ownerOf(variable: Variable): Workspace | undefined {
  return owners.get(variable)?.deref();
}

function watch(variable: Variable): void {
  watchVariable(variable, {
    beforeUse: () => {
      const workspace = ownerOf(variable);
      if (workspace && !workspace.busy) workspace.pull();
    },
    afterWrite: () => {
      const workspace = ownerOf(variable);
      if (workspace && !workspace.busy) workspace.tfjsNewer = true;
    },
    // The first of a workspace's variables to be disposed lets its session go, while the rest are alive.
    beforeDispose: () => {
      const workspace = ownerOf(variable);
      if (workspace) forget(workspace);
    },
  });
}

function forget(workspace: Workspace): void {
  workspace.dropSession();
  for (const variable of workspace.variables) owners.delete(variable);
  for (const { trace } of workspace.steps) traceOwners.delete(trace);
}

/** Every variable the step reads or writes: Adam's slots only through the fused update. */
function variablesOf(trace: Trace): Variable[] {
  const read = trace.sources.flatMap((source) => (source.kind === 'variable' ? [source.variable] : []));
  const written = [...trace.updates.map((update) => update.variable), ...trace.fused.flatMap((f) => f.variables)];
  return [...new Set([...read, ...written])];
}

/** Adds a trace to the workspace of the steps it shares variables with, merging those it bridges. */
function join(trace: Trace, precision: Precision): Workspace {
  const variables = variablesOf(trace);
  const existing = [...new Set(variables.flatMap((v) => ownerOf(v) ?? []))];
  const workspace = existing[0] ?? new Workspace();
  for (const other of existing.slice(1)) {
    other.dropSession();
    for (const { trace: otherTrace, precision: otherPrecision } of other.steps) {
      workspace.add(otherTrace, otherPrecision);
      traceOwners.set(otherTrace, workspace);
    }
    for (const variable of other.variables) workspace.variables.add(variable);
  }
  for (const variable of [...variables, ...workspace.variables]) {
    workspace.variables.add(variable);
    owners.set(variable, new WeakRef(workspace));
    watch(variable);
  }
  workspace.add(trace, precision);
  traceOwners.set(trace, workspace);
  return workspace;
}

/** One input signature of a step: its trace once compiled. */
interface Signature {
  compiled?: Trace;
}

/**
 * One step function (a train step, a prediction, an evaluation) on its way to a graph: eager calls,
 * two dry runs traced, then the graph. `run` is the eager step; `settings` names what else a graph
 * bakes in (optimizer settings, which weights train) so that a change compiles afresh.
 */
class StepFunction {
  private readonly signatures = new Map<string, Signature>();

  constructor(
    readonly caller: string,
    private choice: EngineChoice,
    private readonly requested: TrainingEngine,
    private readonly run: (inputs: Tensor[], seed: number) => Tensor[],
    private readonly settings: () => string,
    /** The models whose weights the step uses (they keep its session alive). */
    private readonly models: LayersModel[],
    /** The optimizer a train step updates: tfjs counts its steps, and graph steps are counted too. */
    private readonly optimizer?: () => Optimizer,
    /** What the graph computes in (lib/graph/precision.ts); the eager engine always runs float32. */
    readonly precision: Precision = 'float32',
  ) {}

  get engine(): EngineChoice {
    return this.choice;
  }

  call(inputs: Tensor[], seed: number): Tensor[] {
    // Inside another step (a generator's predict inside a loss), this step's ops are the outer step's.
    if (stepDepth > 0) return this.run(inputs, seed);
    if (this.choice.engine === 'eager') return this.eager(inputs, seed);
    // Shapes, types, which inputs hold the same data (fed once), and the settings the graph bakes in.
    const place = (t: Tensor) => inputs.findIndex((other) => other.dataId === t.dataId);
    const shapes = inputs.map((t) => `${t.dtype}[${t.shape}]@${place(t)}`).join(',');
    const key = `${shapes}|${this.settings()}`;
    let signature = this.signatures.get(key);
    if (!signature) {
      if (this.signatures.size >= MAX_SIGNATURES) {
        return this.leaveGraph(
          new UnsupportedModelError(`compiled for ${MAX_SIGNATURES} input shapes or settings already`),
          inputs,
          seed,
        );
      }
      this.signatures.set(key, (signature = {}));
    }
    if (signature.compiled) return this.graph(signature.compiled, inputs, seed);
    // Two dry runs, recorded, each undone afterwards (the variables and the optimizer's count put back),
    // so that every real step of a compiled signature runs on the graph, whenever it was compiled.
    const traces: Trace[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const saved = this.saveState();
      let traced: { results: Tensor[]; trace: Trace | undefined };
      try {
        traced = this.inside(() => traceStep((values) => this.run(values, seed), inputs, seed));
      } catch (error) {
        this.restoreState(saved);
        if (!(error instanceof UnsupportedModelError)) throw error;
        return this.leaveGraph(error, inputs, seed);
      }
      if (!traced.trace) {
        // The step made variables (an optimizer's slots): it stands as this call's real step.
        tf.dispose(saved.values);
        return traced.results;
      }
      tf.dispose(traced.results);
      this.restoreState(saved);
      traces.push(traced.trace);
    }
    if (traceKey(traces[0]) !== traceKey(traces[1])) {
      return this.leaveGraph(
        new UnsupportedModelError(
          'two traced steps differ: the step computes a JavaScript value that changes from step to step ' +
            '(read it from a tensor instead, or pass it as an input)',
        ),
        inputs,
        seed,
      );
    }
    // Steps compiled for other settings (a recompile, a changed learning rate) are not run again.
    for (const [otherKey, other] of this.signatures) {
      if (other.compiled && otherKey.split('|')[1] !== key.split('|')[1]) {
        traceOwners.get(other.compiled)?.remove(other.compiled);
        this.signatures.delete(otherKey);
      }
    }
    signature.compiled = traces[1];
    join(traces[1], this.precision);
    return this.graph(traces[1], inputs, seed);
  }

  /** Every variable's value and the optimizer's step count, to undo a dry run. */
  private saveState(): { values: Tensor[]; variables: Variable[]; iterations?: number } {
    const variables = Object.values(tf.engine().registeredVariables);
    const optimizer = this.optimizer?.();
    return { values: variables.map((v) => v.clone()), variables, iterations: optimizer?.iterations };
  }

  private restoreState(saved: { values: Tensor[]; variables: Variable[]; iterations?: number }): void {
    saved.variables.forEach((variable, i) => variable.isDisposed || variable.assign(saved.values[i]));
    tf.dispose(saved.values);
    const optimizer = this.optimizer?.();
    if (optimizer && saved.iterations !== undefined) setOptimizerIterations(optimizer, saved.iterations);
  }

  /** A graph call (a released session is built again, from the same trace). */
  private graph(trace: Trace, inputs: Tensor[], seed: number): Tensor[] {
    const workspace = traceOwners.get(trace) ?? join(trace, this.precision);
    let program: TracedProgram;
    try {
      program = workspace.ready();
    } catch (error) {
      // TensorFlow refusing the graph (an older C library, no writable temporary folder): under
      // 'auto' training goes on eagerly.
      if (this.requested === 'graph') throw error;
      forget(workspace);
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return this.leaveGraph(new Error(`the graph engine could not start (${message})`), inputs, seed);
    }
    const step = workspace.steps.find((candidate) => candidate.trace === trace)?.compiled;
    if (!step) throw new Error(`${this.caller}: the compiled step is missing from its session.`);
    for (const model of this.models) {
      const held = modelWorkspaces.get(model) ?? new Set<Workspace>();
      modelWorkspaces.set(model, held.add(workspace));
    }
    const results = program.run(step, inputs, seed);
    if (trace.updates.length > 0 || trace.fused.length > 0) workspace.sessionNewer = true;
    const optimizer = this.optimizer?.();
    if (optimizer) addOptimizerIterations(optimizer, 1);
    return results;
  }

  /** An eager call: the watch copies a session's newer values back before tfjs uses them. */
  private eager(inputs: Tensor[], seed: number): Tensor[] {
    return this.inside(() => withRandomDraws(seed, () => this.run(inputs, seed)));
  }

  private inside<T>(run: () => T): T {
    stepDepth += 1;
    try {
      return run();
    } finally {
      stepDepth -= 1;
    }
  }

  private leaveGraph(error: Error, inputs?: Tensor[], seed = 0, warn = true): Tensor[] {
    // Values a dropped session held were copied back (forget/pull); tfjs holds the newest now.
    if (this.requested === 'graph') {
      error.message = `${this.caller}: ${error.message}`;
      throw error;
    }
    this.choice = { engine: 'eager', reason: error.message };
    if (warn) console.warn(`${this.caller}: ${error.message}; running on tfjs's eager engine instead (2-3x slower).`);
    return inputs ? this.eager(inputs, seed) : [];
  }
}

/** Options of `compiled(model, options)`. */
export interface CompiledOptions {
  /** 'auto' (default): the graph engine when the step compiles, else eager; 'graph' or 'eager' to insist. */
  engine?: TrainingEngine;
  /** Base seed for the random draws (Dropout masks) of successive steps. Default: a random one. */
  seed?: number;
  /**
   * 'mixed_bfloat16': the graph computes products and convolutions in bfloat16, weights and their
   * updates staying float32, as Keras's mixed_bfloat16 policy; on a CPU without bfloat16
   * instructions it says so and trains in float32. Default 'float32'.
   */
  precision?: Precision;
}

/** Options of one step. */
export interface StepOptions {
  /** Seed of this step's random draws. Default: derived from the handle's seed and step count. */
  dropoutSeed?: number;
}

/** A model's compiled `trainOnBatch` and `predict` (see `compiled`). */
export interface CompiledModel {
  readonly model: LayersModel;
  /** The engine the steps run on ('graph' until a step fails to trace, then 'eager'). */
  readonly engine: 'graph' | 'eager';
  /** Why the eager engine runs them (empty on the graph engine). */
  readonly reason: string;
  /** What the steps compute in: 'mixed_bfloat16' only on the graph engine of a CPU with bfloat16. */
  readonly precision: Precision;
  /** Trains on one batch (inputs x, labels y) and returns the loss, as `model.trainOnBatch` does. */
  trainOnBatch(x: Tensor | Tensor[], y: Tensor, options?: StepOptions): Promise<number>;
  /** Like trainOnBatch, with the metrics after the loss (in `model.metricsNames` order). */
  trainOnBatchWithMetrics(x: Tensor | Tensor[], y: Tensor, options?: StepOptions): Promise<number[]>;
  /** The model's output for x in inference mode, as `model.predict` (the caller disposes it). */
  predict(x: Tensor | Tensor[]): Tensor;
}

/** A loss written in tfjs ops: one tensor, or named terms of which `loss` is minimised. */
export type LossTerms = Tensor | Record<string, Tensor>;

/** Options of `compiled(models, { loss, optimizer })`. */
export interface CompiledLossOptions<Inputs extends Tensor[]> extends CompiledOptions {
  /** The loss of one batch, from the step's inputs. */
  loss: (...inputs: Inputs) => LossTerms;
  /** Trains every trainable weight of the models on the loss. */
  optimizer: Optimizer;
}

/** A compiled step on a loss written in the notebook (see `compiled`). */
export interface CompiledLoss<Inputs extends Tensor[]> {
  readonly engine: 'graph' | 'eager';
  readonly reason: string;
  readonly precision: Precision;
  /** One optimizer step on the loss of this batch; returns each term's value. */
  trainOnBatch(...inputs: Inputs): Promise<Record<string, number>>;
  /** The loss's terms for this batch, without training. */
  evaluate(...inputs: Inputs): Promise<Record<string, number>>;
}

function shapeText(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => (d === null ? 'batch' : String(d))).join(', ')}]`;
}

function checkInputs(caller: string, model: LayersModel, x: Tensor[]): void {
  if (x.length !== model.inputs.length) {
    throw new Error(`${caller}: model "${model.name}" takes ${model.inputs.length} inputs; got ${x.length}.`);
  }
  model.inputs.forEach((input, i) => {
    const expected = input.shape.slice(1);
    const ok = x[i].rank === expected.length + 1 && expected.every((d, j) => d === null || d === x[i].shape[j + 1]);
    if (!ok) {
      throw new Error(
        `${caller}: x${x.length > 1 ? `[${i}]` : ''} has shape ${shapeText(x[i].shape)}; ` +
          `model "${model.name}" takes ${shapeText([null, ...expected])}.`,
      );
    }
  });
}

function checkLabels(caller: string, model: LayersModel, x: Tensor, y: Tensor): void {
  const batch = x.shape[0];
  if (y.shape[0] !== batch) {
    throw new Error(`${caller}: x holds ${batch} samples but y holds ${y.shape[0]}; each sample needs its label.`);
  }
  const output = model.outputs[0].shape.slice(1);
  const ok = y.rank === output.length + 1 && output.every((d, i) => d === null || d === y.shape[i + 1]);
  if (!ok) {
    throw new Error(
      `${caller}: y has shape ${shapeText(y.shape)}; ` +
        `model "${model.name}" outputs ${shapeText([batch, ...output])}, and y must match it.`,
    );
  }
}

function interrupted(name: string): () => string {
  return () =>
    `Training interrupted: "${name}" and the models that share its weights ` +
    'keep the weights of their last finished step. Rerun the cell to carry on from there.';
}

/** Each optimizer object gets a number, so that a new compile (a new optimizer) compiles afresh. */
const optimizerIds = new WeakMap<Optimizer, number>();
let optimizerCount = 0;
function optimizerSettings(optimizer: Optimizer): string {
  if (!optimizerIds.has(optimizer)) optimizerIds.set(optimizer, ++optimizerCount);
  return `${optimizerIds.get(optimizer)}:${JSON.stringify(optimizer.getConfig())}`;
}

function trainableFlags(models: LayersModel[]): string {
  return models
    .map((model) =>
      layerVariables(model)
        .map((v) => (v.trainable ? 1 : 0))
        .join(''),
    )
    .join('/');
}

/** The step functions of each model, shared by all its handles (a handle is cheap). */
const modelSteps = new WeakMap<LayersModel, Map<string, { train: StepFunction; predict: StepFunction }>>();

async function readScalars(tensors: Tensor[]): Promise<number[]> {
  try {
    return await Promise.all(tensors.map(async (t) => (await t.data())[0]));
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Compiles a model's training step and inference pass, like Keras traces `train_on_batch`:
 *
 *     const d = compiled(discriminator);
 *     const dLoss = await d.trainOnBatch(images, labels);
 *     const fakes = compiled(generator).predict(noise);
 *
 * or a step on a loss written in tfjs ops, training the models' weights with `optimizer`:
 *
 *     const vae = compiled([encoder, decoder], { loss: (x) => vaeLoss(x), optimizer: tf.train.adam() });
 *     const { loss, kl } = await vae.trainOnBatch(images);
 *
 * Each step runs the forward pass, the gradients and the optimizer's update as one TensorFlow graph
 * (see the top of this file). Each step first gives the event loop a turn
 * when training has held it for a while, and stops with TrainingInterrupted after Kernel > Interrupt.
 */
export function compiled(model: LayersModel, options?: CompiledOptions): CompiledModel;
export function compiled<Inputs extends Tensor[]>(
  models: LayersModel | LayersModel[],
  options: CompiledLossOptions<Inputs>,
): CompiledLoss<Inputs>;
export function compiled<Inputs extends Tensor[]>(
  target: LayersModel | LayersModel[],
  options: CompiledOptions | CompiledLossOptions<Inputs> = {},
): CompiledModel | CompiledLoss<Inputs> {
  if ('loss' in options) return compiledLoss(Array.isArray(target) ? target : [target], options);
  if (Array.isArray(target))
    throw new Error('compiled: several models need a loss: compiled(models, { loss, optimizer }).');
  return compiledModel(target, options);
}

function compiledModel(model: LayersModel, options: CompiledOptions): CompiledModel {
  const caller = `compiled(${model.name})`;
  const requested = options.engine ?? 'auto';
  const choice = initialChoice(requested, caller);
  const baseSeed = options.seed ?? randomSeed();
  const precision = trainingPrecision(caller, options.precision, (line) => console.warn(line));
  let steps = 0;
  // Handles share their model's step functions, one pair per engine and precision (so one trace each).
  const cache = modelSteps.get(model) ?? new Map<string, { train: StepFunction; predict: StepFunction }>();
  modelSteps.set(model, cache);
  const cacheKey = `${requested}:${choice.engine}:${precision}`;
  const functions = cache.get(cacheKey) ?? {
    train: new StepFunction(
      caller,
      choice,
      requested,
      (inputs) => trainFunctionOf(model)(inputs),
      () => `${optimizerSettings(model.optimizer)}|${trainableFlags([model])}`,
      [model],
      () => model.optimizer,
      precision,
    ),
    predict: new StepFunction(
      caller,
      choice,
      requested,
      (inputs) => [
        model.predict(inputs.length === 1 ? inputs[0] : inputs, { batchSize: inputs[0].shape[0] }) as Tensor,
      ],
      () => '',
      [model],
      undefined,
      precision,
    ),
  };
  cache.set(cacheKey, functions);
  const { train: trainStep, predict: predictStep } = functions;

  const trainWithMetrics = async (x: Tensor | Tensor[], y: Tensor, stepOptions: StepOptions = {}) => {
    const stepCaller = `${caller}.trainOnBatch`;
    if (!model.optimizer)
      throw new Error(
        `${stepCaller}: model "${model.name}" is not compiled; call ${model.name}.compile({ optimizer, loss }) first ` +
          '(a model used only for predict needs no compile).',
      );
    const xs = Array.isArray(x) ? x : [x];
    checkInputs(stepCaller, model, xs);
    checkLabels(stepCaller, model, xs[0], y);
    await beforeStep(interrupted(model.name));
    const seed = stepOptions.dropoutSeed ?? deriveSeed(baseSeed, steps);
    steps += 1;
    try {
      // trainOnBatch takes integer inputs and labels and computes in float32; so does the step.
      const inputs = [...xs, y].map((t) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32')));
      try {
        return await readScalars(trainStep.call(inputs, seed));
      } finally {
        tf.dispose(inputs.filter((t, i) => t !== [...xs, y][i]));
      }
    } finally {
      afterStep();
    }
  };

  return {
    model,
    get engine() {
      return trainStep.engine.engine;
    },
    get reason() {
      return trainStep.engine.reason;
    },
    get precision() {
      return trainStep.engine.engine === 'graph' ? precision : 'float32';
    },
    trainOnBatchWithMetrics: trainWithMetrics,
    trainOnBatch: async (x, y, stepOptions) => (await trainWithMetrics(x, y, stepOptions))[0],
    predict(x) {
      const xs = Array.isArray(x) ? x : [x];
      checkInputs(`${caller}.predict`, model, xs);
      return predictStep.call(xs, 0)[0];
    },
  };
}

function compiledLoss<Inputs extends Tensor[]>(
  models: LayersModel[],
  options: CompiledLossOptions<Inputs>,
): CompiledLoss<Inputs> {
  const caller = `compiled(${models.map((m) => m.name).join(', ')})`;
  const requested = options.engine ?? 'auto';
  const choice = initialChoice(requested, caller);
  const baseSeed = options.seed ?? randomSeed();
  const precision = trainingPrecision(caller, options.precision, (line) => console.warn(line));
  const { loss, optimizer } = options;
  let steps = 0;
  let names: string[] = [];
  /** The loss's terms as a list, `loss` first (kept out of the step's tidy scopes). */
  const terms = (inputs: Tensor[]): Tensor[] => {
    const value = loss(...(inputs as Inputs));
    const named = value instanceof tf.Tensor ? { loss: value } : value;
    if (!(named.loss instanceof tf.Tensor)) {
      throw new Error(`${caller}: the loss function must return a tensor, or named tensors with a "loss" entry.`);
    }
    names = ['loss', ...Object.keys(named).filter((name) => name !== 'loss')];
    return names.map((name) => named[name]);
  };
  const weights = () => models.flatMap((model) => model.trainableWeights.map((w) => w.read() as Variable));
  const trainStep = new StepFunction(
    caller,
    choice,
    requested,
    (inputs) => {
      let extras: Tensor[] = [];
      const cost = optimizer.minimize(
        () => {
          const [total, ...rest] = terms(inputs);
          extras = rest.map((t) => tf.keep(t));
          return total as tf.Scalar;
        },
        true,
        weights(),
      );
      return [cost as Tensor, ...extras];
    },
    () => `${optimizerSettings(optimizer)}|${trainableFlags(models)}`,
    models,
    () => optimizer,
    precision,
  );
  const evaluateStep = new StepFunction(
    caller,
    choice,
    requested,
    (inputs) => tf.tidy(() => terms(inputs)),
    () => '',
    models,
    undefined,
    precision,
  );
  const named = (values: number[]) => Object.fromEntries(names.map((name, i) => [name, values[i]]));
  return {
    get engine() {
      return trainStep.engine.engine;
    },
    get reason() {
      return trainStep.engine.reason;
    },
    get precision() {
      return trainStep.engine.engine === 'graph' ? precision : 'float32';
    },
    async trainOnBatch(...inputs) {
      await beforeStep(interrupted(models[0].name));
      const seed = deriveSeed(baseSeed, steps);
      steps += 1;
      try {
        return named(await readScalars(trainStep.call(inputs, seed)));
      } finally {
        afterStep();
      }
    },
    async evaluate(...inputs) {
      return named(await readScalars(evaluateStep.call(inputs, deriveSeed(baseSeed, 0x7e57))));
    },
  };
}

/** The workspaces holding any of `model`'s weights. */
function workspacesOf(model: LayersModel): Set<Workspace> {
  const found = new Set<Workspace>();
  for (const variable of layerVariables(model)) {
    const workspace = ownerOf(variable.read() as Variable);
    if (workspace) found.add(workspace);
  }
  return found;
}

/**
 * Frees the compiled graph and session that `model` trains in (with every model sharing its
 * weights), after copying the newest weights and optimizer state back. The next step compiles
 * again. Disposing the weights (`model.dispose()`) frees the session too.
 */
export function releaseTrainingGraph(model: LayersModel): void {
  for (const workspace of workspacesOf(model)) forget(workspace);
  modelSteps.delete(model);
}

/** Copies the newest trained values into `model`'s tfjs weights and optimizer state now. */
export function syncWeights(model: LayersModel): void {
  for (const workspace of workspacesOf(model)) workspace.pull();
}
