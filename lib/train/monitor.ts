/**
 * What a training loop written in a notebook cell shows while it runs: a progress bar and a
 * live loss chart, both one output updated in place, and the loss history for later cells.
 * It is also the loop's safe point for Kernel > Interrupt: `update` runs between iterations,
 * when the loop holds no temporary tensors, so an interrupt stops the loop there cleanly.
 */
import { LiveChart } from '../display/show';
import { ganLossChart } from '../viz/charts';
import type { GanHistory } from './gan';
import { interruptRequested, interruptState, TrainingInterrupted } from './interrupt';
import { ProgressReporter } from './progress';

export interface GanMonitorOptions {
  /** Iterations the loop will run (the bar's 100%). */
  iterations: number;
  /** Shown before the bar. Default 'GAN'. */
  label?: string;
  /** Draw the live loss chart. Default true. */
  chart?: boolean;
}

/** Bar, live chart and history for a GAN loop: `await monitor.update(epoch, dLoss, gLoss)` each iteration. */
export class GanMonitor {
  readonly history: GanHistory = { iteration: [], dLoss: [], dLossReal: [], dLossFake: [], gLoss: [] };
  private readonly reporter: ProgressReporter;
  private readonly chart: LiveChart | undefined;
  /** Iterations the loop runs (the bar's 100%). */
  readonly iterations: number;
  private interrupted = false;

  constructor(options: GanMonitorOptions) {
    if (!Number.isInteger(options.iterations) || options.iterations < 0) {
      throw new Error(`GanMonitor: options.iterations must be a whole number >= 0; got ${options.iterations}.`);
    }
    this.iterations = options.iterations;
    this.reporter = new ProgressReporter({ label: options.label ?? 'GAN' });
    this.reporter.start(options.iterations, 'iteration');
    this.chart = options.chart === false ? undefined : new LiveChart();
    interruptState().loopChecks = true;
  }

  /**
   * Records iteration `iteration`'s losses, moves the bar, redraws the chart (at most once a
   * second). Returns false after Kernel > Interrupt: the loop breaks, frees its tensors, and
   * `finish` then reports the interrupt.
   */
  async update(
    iteration: number,
    dLoss: number,
    gLoss: number,
    parts: { dLossReal?: number; dLossFake?: number } = {},
  ): Promise<boolean> {
    // A loop cell rerun after an interrupt (the kernel clears this at each cell) stops here again.
    interruptState().loopChecks = true;
    this.history.iteration.push(iteration);
    this.history.dLoss.push(dLoss);
    this.history.gLoss.push(gLoss);
    // The two halves of d_loss are kept when the loop hands them over.
    if (parts.dLossReal !== undefined) this.history.dLossReal.push(parts.dLossReal);
    if (parts.dLossFake !== undefined) this.history.dLossFake.push(parts.dLossFake);
    this.reporter.update(this.history.iteration.length, { d_loss: dLoss, g_loss: gLoss });
    await this.chart?.update(() => ganLossChart(this.history));
    if (await interruptRequested()) this.interrupted = true;
    return !this.interrupted;
  }

  /** Iterations recorded so far: where a loop rerun after an interrupt carries on. */
  get done(): number {
    return this.history.iteration.length;
  }

  /**
   * Shows the final bar and chart (with its static picture for the exported page). After an
   * interrupt it then throws TrainingInterrupted, so the cell ends as stopped (and Run All stops).
   */
  async finish(): Promise<void> {
    const last = this.history.iteration.length - 1;
    this.reporter.finish(
      this.history.iteration.length,
      last >= 0 ? { d_loss: this.history.dLoss[last], g_loss: this.history.gLoss[last] } : {},
    );
    if (this.chart && last >= 0) await this.chart.finish(ganLossChart(this.history));
    interruptState().loopChecks = false;
    if (!this.interrupted) return;
    this.interrupted = false;
    throw new TrainingInterrupted(
      `Training interrupted after iteration ${this.history.iteration[last]} ` +
        `(${this.done} of ${this.iterations} run): the models keep the weights of that iteration. ` +
        'Rerun the cell to carry on from there.',
      this.history,
    );
  }
}
