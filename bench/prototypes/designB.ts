/**
 * Design (b)'s entry points: lib's compiled() and the trace behind it, loaded from the repository's
 * lib/ or, with `--b-lib DIR`, from another copy of it (a commit's lib/ exported with
 * `git archive <commit> lib | tar -x -C build/design-b`), so that a half-finished change of lib/ in
 * the working tree can be left out of the measurement.
 */
import * as path from 'path';

type Engine = typeof import('../../lib/train/engine');
type TraceModule = typeof import('../../lib/graph/trace');
type Internals = typeof import('../../lib/graph/tfjsInternals');

const at = process.argv.indexOf('--b-lib');
/** The lib/ folder design (b) comes from. */
export const designBLib = at >= 0 ? path.resolve(process.argv[at + 1]) : path.join(__dirname, '..', '..', 'lib');

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the folder is chosen at run time (see above)
const load = <T>(file: string): T => require(path.join(designBLib, file)) as T;

export const { compiled } = load<Engine>('train/engine');
export const { traceStep } = load<TraceModule>('graph/trace');
export const { trainFunctionOf } = load<Internals>('graph/tfjsInternals');
