/**
 * The one object a training loop reports to: its progress, its history, and Kernel > Interrupt.
 *
 * A loop, written in a cell or in the library (`fit`, `trainGan`), calls `progress` after a batch
 * and `update` after each iteration or epoch. Both are safe points: the loop holds no temporary
 * tensor there, so both take a pending interrupt and then return false, and the loop breaks. Its
 * `finish` then throws TrainingInterrupted, which ends the cell as stopped (Run All stops) with one
 * line; the models keep the weights of the last finished step, and a rerun carries on from there.
 *
 * What the learner sees is a view's business (a bar and a live chart: lib/display's LiveView);
 * training knows only the MonitorView interface. Without a view a monitor only records.
 */
import { interruptState, takeInterrupt, TrainingInterrupted, yieldIfDue } from './interrupt';

/** What the monitor's axis counts. */
export type TrainingUnit = 'iteration' | 'epoch';

/**
 * The history as columns of equal length: the axis (`iteration` or `epoch`, counted from 0) and
 * one column per value the loop records, e.g. `{ iteration: [0, 1], d_loss: [...], g_loss: [...] }`.
 */
export type TrainingHistory = Record<string, number[]>;

/** Where the loop stands, as a view is shown it. */
export interface MonitorState {
  /** Shown before the bar, e.g. 'GAN'. */
  label: string;
  unit: TrainingUnit;
  /** Units the loop runs (the bar's 100%). */
  total: number;
  /** Units done, fractional within an epoch. */
  done: number;
  /** The latest values: a batch's running loss, or the last record. */
  values: Record<string, number>;
  history: Readonly<TrainingHistory>;
}

/**
 * Shows a monitor's state: 'start' once, 'progress' after a batch, 'record' when the history grew,
 * 'final' at the end (drawn whatever a throttle says).
 */
export interface MonitorView {
  show(state: MonitorState, event: 'start' | 'progress' | 'record' | 'final'): void | Promise<void>;
}

let defaultView: () => MonitorView | undefined = () => undefined;

/**
 * The view `progress: true` (the default of fit, trainGan and the digit classifier) means: none in
 * lib/train; the notebooks' entry, lib/index.ts, sets it to lib/display's progress bar.
 */
export function setDefaultView(make: () => MonitorView | undefined): void {
  defaultView = make;
}

export interface TrainingMonitorOptions {
  /** Iterations the loop runs: the axis counts iterations. Give this or `epochs`. */
  iterations?: number;
  /** Epochs the loop runs: the axis counts epochs. */
  epochs?: number;
  /** Shown before the bar. Default 'training'. */
  label?: string;
  /** Where the state is shown: a view, true for the default one, false (default) for none. */
  view?: MonitorView | boolean;
}

export class TrainingMonitor {
  readonly unit: TrainingUnit;
  /** Units the loop runs. */
  readonly total: number;
  readonly label: string;
  readonly history: TrainingHistory;
  private readonly view: MonitorView | undefined;
  /** Units done at the last report, and the values reported then. */
  private position = 0;
  private latest: Record<string, number> = {};
  private stoppedAt: number | undefined;

  constructor(options: TrainingMonitorOptions) {
    const given = (['iteration', 'epoch'] as const).filter((unit) => options[`${unit}s`] !== undefined);
    if (given.length !== 1)
      throw new Error('TrainingMonitor: give options.iterations or options.epochs (one of them): what the loop runs.');
    this.unit = given[0];
    this.total = options[`${this.unit}s`] as number;
    if (!Number.isInteger(this.total) || this.total < 0)
      throw new Error(`TrainingMonitor: options.${this.unit}s must be a whole number >= 0; got ${this.total}.`);
    this.label = options.label ?? 'training';
    this.history = { [this.unit]: [] };
    this.view = options.view === true ? defaultView() : options.view || undefined;
    interruptState().loopChecks = true;
    void this.view?.show(this.state(0, {}), 'start');
  }

  /** Units recorded so far: where a loop rerun after an interrupt carries on. */
  get done(): number {
    return this.history[this.unit].length;
  }

  /** True from an interrupt until `finish` reports it. */
  get stopped(): boolean {
    return this.stoppedAt !== undefined;
  }

  /** After a batch: `done` units so far (fractional within an epoch), the latest values. False after an interrupt. */
  async progress(done: number, values: Record<string, number>): Promise<boolean> {
    return this.report(done, values, 'progress');
  }

  /**
   * Records iteration or epoch `at` (from 0) with its values, the same names every time, and shows
   * it. False after an interrupt: break out of the loop, then call `finish`.
   */
  async update(at: number, values: Record<string, number>): Promise<boolean> {
    const names = Object.keys(this.history).filter((name) => name !== this.unit);
    const given = Object.keys(values);
    if (this.done > 0 && (given.length !== names.length || names.some((name) => typeof values[name] !== 'number')))
      throw new Error(
        `TrainingMonitor.update: give the same values every time (${names.join(', ')}); got ${given.join(', ')}.`,
      );
    this.history[this.unit].push(at);
    for (const [name, value] of Object.entries(values)) (this.history[name] ??= []).push(value);
    return this.report(at + 1, values, 'record');
  }

  /**
   * Shows the final state. After an interrupt it then throws TrainingInterrupted with `message`
   * (default: where the loop stopped), so the cell ends as stopped; a rerun may carry on.
   */
  async finish(message?: string): Promise<void> {
    await this.view?.show(this.state(this.position, this.latest), 'final');
    interruptState().loopChecks = false;
    const at = this.stoppedAt;
    if (at === undefined) return;
    this.stoppedAt = undefined;
    const where =
      this.unit === 'iteration'
        ? `after iteration ${at - 1} (${this.done} of ${this.total} run)`
        : `${Number.isInteger(at) ? `after epoch ${at}` : `in epoch ${Math.floor(at) + 1}`} ` +
          `(${this.done} of ${this.total} epochs finished)`;
    throw new TrainingInterrupted(
      message ??
        `Training interrupted ${where}: the models keep the weights of their last step. ` +
          'Rerun the cell to carry on from there.',
    );
  }

  private state(done: number, values: Record<string, number>): MonitorState {
    return { label: this.label, unit: this.unit, total: this.total, done, values, history: this.history };
  }

  /**
   * Shows the state, then takes a pending interrupt: the loop's safe point. (A loop cell rerun after
   * an interrupt, which clears loopChecks when it starts, stops here again.)
   */
  private async report(done: number, values: Record<string, number>, event: 'progress' | 'record'): Promise<boolean> {
    this.position = done;
    this.latest = values;
    await this.view?.show(this.state(done, values), event);
    interruptState().loopChecks = true;
    await yieldIfDue();
    if (this.stoppedAt === undefined && takeInterrupt()) this.stoppedAt = done;
    return this.stoppedAt === undefined;
  }
}
