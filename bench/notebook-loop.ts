/**
 * 01-dcgan's own code, run as a script: its parameters cell, its model cells (tagged `model`)
 * and its training loop (tagged `train-loop`), exactly as written in the notebook, with the
 * bench's settings set after the parameters cell. The bench times this beside trainGan, so the
 * loop a learner reads is the loop that is measured.
 */
import * as path from 'path';
import type { LayersModel, Tensor4D } from '@tensorflow/tfjs-node';
import * as lib from '../lib';
import type { Precision } from '../lib/graph/precision';
import { runCellSource, taggedSource } from '../tools/ipynb';

const NOTEBOOK = path.join(__dirname, '..', 'notebooks', '01-dcgan.ipynb');

export interface NotebookLoopSettings {
  iterations: number;
  batchSize: number;
  seed: number;
  /** 01's `precision` setting; default the notebook's own ('float32'). */
  precision?: Precision;
  /** Called by the loop's monitor after each iteration. */
  onIteration: (iteration: number, dLoss: number, gLoss: number) => void;
}

/** What the loop leaves: 01's models, and the precision its compiled steps actually ran in. */
export interface NotebookLoopResult {
  generator: LayersModel;
  discriminator: LayersModel;
  gan: LayersModel;
  /** One entry per `compiled(...)` handle the loop made (D, the combined model, G), in order. */
  precisions: Precision[];
}

/** Runs 01's parameters, model and loop cells on `realImages` (in [-1, 1]). */
export async function runNotebookLoop(
  realImages: Tensor4D,
  settings: NotebookLoopSettings,
): Promise<NotebookLoopResult> {
  const parameters = taggedSource(NOTEBOOK, ['parameters']);
  const rest = taggedSource(NOTEBOOK, ['model', 'train-loop']);
  // No sample grids: the trainGan workload draws none either.
  const overrides =
    `iterations = ${settings.iterations}; batchSize = ${settings.batchSize}; seed = ${settings.seed}; ` +
    `sampleInterval = ${settings.iterations + 1};` +
    (settings.precision ? ` precision = ${JSON.stringify(settings.precision)};` : '');
  const body = `${parameters}\n${overrides}\n${rest}\nreturn { generator, discriminator, gan };`;
  const onIteration = settings.onIteration;
  class TimedMonitor extends lib.LiveMonitor {
    constructor(options: ConstructorParameters<typeof lib.LiveMonitor>[0]) {
      super({ ...options, chart: false });
    }
    override async update(iteration: number, values: Record<string, number>): Promise<boolean> {
      const goOn = await super.update(iteration, values);
      onIteration(iteration, values.d_loss, values.g_loss);
      return goOn;
    }
  }
  // The loop's compiled() handles, to report the precision they ran in (a CPU without bfloat16
  // instructions falls back to float32 with a warning).
  const handles: Array<{ readonly precision: Precision }> = [];
  const compiled = ((...args: Parameters<typeof lib.compiled>) => {
    const handle = (lib.compiled as (...a: unknown[]) => { readonly precision: Precision })(...args);
    handles.push(handle);
    return handle;
  }) as typeof lib.compiled;
  const scope: Record<string, unknown> = {
    ...lib,
    compiled,
    LiveMonitor: TimedMonitor,
    realImages,
    console: { ...console, log: () => undefined },
  };
  const models = await runCellSource<Promise<Omit<NotebookLoopResult, 'precisions'>>>(
    `return (async () => {\n${body}\n})();`,
    scope,
  );
  return { ...models, precisions: handles.map((h) => h.precision) };
}
