/**
 * 01-dcgan's own code, run as a script: its parameters cell, its model cells (tagged `model`)
 * and its training loop (tagged `train-loop`), exactly as written in the notebook, with the
 * bench's settings set after the parameters cell. The bench times this beside trainGan, so the
 * loop a learner reads is the loop that is measured.
 */
import * as path from 'path';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import * as lib from '../lib';
import type { GanMonitorOptions } from '../lib/train';
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
  class TimedMonitor extends lib.GanMonitor {
    constructor(options: GanMonitorOptions) {
      super({ ...options, chart: false });
    }
    override async update(iteration: number, dLoss: number, gLoss: number): Promise<boolean> {
      const goOn = await super.update(iteration, dLoss, gLoss);
      onIteration(iteration, dLoss, gLoss);
      return goOn;
    }
  }
  const scope: Record<string, unknown> = {
    ...lib,
    GanMonitor: TimedMonitor,
    realImages,
    console: { ...console, log: () => undefined },
  };
  await runCellSource<Promise<void>>(`return (async () => {\n${body}\n})();`, scope);
}
