/**
 * What an epoch loop written in a notebook cell shows while it runs (a VAE's, say): a progress
 * bar moved after every batch, a live chart of the values per epoch, and the history for later
 * cells. `batch` and `epoch` are the loop's safe points for Kernel > Interrupt: called when the
 * loop holds no temporary tensor, they stop it there cleanly.
 */
import { LiveChart } from '../display/show';
import { epochSeriesChart, type EpochSeriesHistory } from '../viz/epochChart';
import { interruptRequested, interruptState, TrainingInterrupted } from './interrupt';
import { ProgressReporter } from './progress';

export interface EpochMonitorOptions {
  /** Epochs the loop will run (the bar's 100%). */
  epochs: number;
  /** The values recorded per epoch, in the chart's legend order, e.g. ['loss', 'reconstruction', 'kl']. */
  series: string[];
  /** Shown before the bar. Default 'training'. */
  label?: string;
  /** Title and y axis of the chart. */
  title?: string;
  yTitle?: string;
  /** 'log' for series of different sizes. Default 'linear'. */
  yScale?: 'linear' | 'log';
  /** Draw the live chart. Default true. */
  chart?: boolean;
}

export class EpochMonitor {
  readonly history: EpochSeriesHistory;
  private readonly reporter: ProgressReporter;
  private readonly chart: LiveChart | undefined;
  private readonly epochs: number;
  private readonly series: string[];
  private readonly title: string | undefined;
  private readonly yTitle: string | undefined;
  private readonly yScale: 'linear' | 'log' | undefined;

  constructor(options: EpochMonitorOptions) {
    if (!Number.isInteger(options.epochs) || options.epochs < 0)
      throw new Error(`EpochMonitor: options.epochs must be a whole number >= 0; got ${options.epochs}.`);
    if (!Array.isArray(options.series) || options.series.length === 0)
      throw new Error("EpochMonitor: options.series must name at least one value, e.g. ['loss'].");
    this.epochs = options.epochs;
    this.series = [...options.series];
    this.title = options.title;
    this.yTitle = options.yTitle;
    this.yScale = options.yScale;
    this.history = { epoch: [], values: Object.fromEntries(this.series.map((name) => [name, [] as number[]])) };
    this.reporter = new ProgressReporter({ label: options.label ?? 'training' });
    this.reporter.start(options.epochs, 'epoch');
    this.chart = options.chart === false ? undefined : new LiveChart();
    interruptState().loopChecks = true;
  }

  private spec() {
    return epochSeriesChart(this.history, { title: this.title, yTitle: this.yTitle, yScale: this.yScale });
  }

  private async stopIfInterrupted(where: string): Promise<void> {
    if (!(await interruptRequested())) return;
    await this.finish();
    throw new TrainingInterrupted(
      `Training interrupted ${where} (${this.history.epoch.length} of ${this.epochs} epochs finished): ` +
        'the models keep the weights of their last batch. Rerun the cell to carry on training them.',
      this.history,
    );
  }

  /** After a batch: `done` epochs so far (fractional), the batch's values. */
  async batch(done: number, values: Record<string, number>): Promise<void> {
    this.reporter.update(done, values);
    await this.stopIfInterrupted(`in epoch ${Math.floor(done) + 1}`);
  }

  /** After epoch `epoch` (from 0): records its values (one per series) and redraws the chart. */
  async epoch(epoch: number, values: Record<string, number>): Promise<void> {
    const missing = this.series.filter((name) => typeof values[name] !== 'number');
    if (missing.length > 0)
      throw new Error(
        `EpochMonitor.epoch: values lacks ${missing.join(', ')}; ` +
          `give one number per series (${this.series.join(', ')}).`,
      );
    this.history.epoch.push(epoch);
    for (const name of this.series) this.history.values[name].push(values[name]);
    this.reporter.update(epoch + 1, values, true);
    await this.chart?.update(() => this.spec());
    await this.stopIfInterrupted(`after epoch ${epoch + 1}`);
  }

  /** Shows the final bar and chart (with its static picture for the exported page). */
  async finish(): Promise<void> {
    const last = this.history.epoch.length - 1;
    this.reporter.finish(
      this.history.epoch.length,
      last >= 0 ? Object.fromEntries(this.series.map((name) => [name, this.history.values[name][last]])) : {},
    );
    if (this.chart && last >= 0) await this.chart.finish(this.spec());
    interruptState().loopChecks = false;
  }
}
