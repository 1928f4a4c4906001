/**
 * Design (b)'s entry points: lib's compiled() and the trace behind it, loaded from the repository's
 * lib/ or, with `--b-lib DIR`, from another copy of it (a commit's lib/ exported with
 * `git archive <commit> lib | tar -x -C build/design-b`), so that a half-finished change of lib/ in
 * the working tree can be left out of the measurement.
 */
import * as path from 'path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs-node';

type Engine = typeof import('../../lib/train/engine');
/** What is read of the trace (typed here: lib/graph/trace.ts's internals change from version to version). */
interface TraceModule {
  traceStep(
    step: (inputs: Tensor[]) => Tensor[],
    inputs: Tensor[],
    seed: number,
  ): { results: Tensor[]; trace?: { ops: Array<{ op: string }>; fused?: unknown[] } };
}
interface Internals {
  trainFunctionOf(model: LayersModel): (data: Tensor[]) => Tensor[];
}

const at = process.argv.indexOf('--b-lib');
/** The lib/ folder design (b) comes from. */
export const designBLib = at >= 0 ? path.resolve(process.argv[at + 1]) : path.join(__dirname, '..', '..', 'lib');

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the folder is chosen at run time (see above)
const load = <T>(file: string): T => require(path.join(designBLib, file)) as T;

export const { compiled } = load<Engine>('train/engine');
export const { traceStep } = load<TraceModule>('graph/trace');
export const { trainFunctionOf } = load<Internals>('graph/tfjsInternals');
