/**
 * 01-dcgan's own code, run as a script: its parameters cell, its model cells (tagged `model`)
 * and its training loop (tagged `train-loop`), exactly as written in the notebook, with the
 * bench's settings set after the parameters cell. The bench times this beside trainGan, so the
 * loop a learner reads is the loop that is measured.
 */
import * as path from 'path';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import * as lib from '../lib';
import { runCellSource, taggedSource } from '../tools/ipynb';

const NOTEBOOK = path.join(__dirname, '..', 'notebooks', '01-dcgan.ipynb');

export interface NotebookLoopSettings {
  iterations: number;
  batchSize: number;
  seed: number;
  /** Called by the loop's monitor after each iteration. */
  onIteration: (iteration: number, dLoss: number, gLoss: number) => void;
}

/** Runs 01's parameters, model and loop cells on `realImages` (in [-1, 1]). */
export async function runNotebookLoop(realImages: Tensor4D, settings: NotebookLoopSettings): Promise<void> {
  const parameters = taggedSource(NOTEBOOK, ['parameters']);
  const rest = taggedSource(NOTEBOOK, ['model', 'train-loop']);
  // No sample grids: the trainGan workload draws none either.
  const overrides =
    `iterations = ${settings.iterations}; batchSize = ${settings.batchSize}; seed = ${settings.seed}; ` +
    `sampleInterval = ${settings.iterations + 1};`;
  const body = `${parameters}\n${overrides}\n${rest}`;
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
  const scope: Record<string, unknown> = {
    ...lib,
    LiveMonitor: TimedMonitor,
    realImages,
    console: { ...console, log: () => undefined },
  };
  await runCellSource<Promise<void>>(`return (async () => {\n${body}\n})();`, scope);
}
