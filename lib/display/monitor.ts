/**
 * What a training loop shows while it runs: a progress bar with the latest values and, on request,
 * a live chart of the history. In a tslab kernel each is ONE cell output updated in place
 * (LiveOutput); elsewhere the bar writes a line to stderr at most every 2 seconds and at the
 * end, and no chart is drawn. `LiveMonitor` is a TrainingMonitor shown this way: what a notebook's
 * own loop constructs.
 */
import { TrainingMonitor, type MonitorState, type MonitorView, type TrainingMonitorOptions } from '../train/monitor';
import { historyChart, type LineChartOptions } from '../viz/charts';
import { localize } from '../viz/locale';
import { inKernel, LiveOutput } from './kernel';
import { LiveChart } from './show';

export interface LiveViewOptions extends LineChartOptions {
  /** Draw the history as a live chart (historyChart). Default true. */
  chart?: boolean;
  /** Where headless lines go. Default process.stderr. */
  stream?: { write(text: string): unknown };
  /** Use the kernel's live output: default true when running inside a tslab kernel. */
  live?: boolean;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** Minimum milliseconds between headless lines, and between in-place updates of the bar in a kernel. */
const HEADLESS_INTERVAL_MS = 2000;
const KERNEL_INTERVAL_MS = 200;
/** The bar's width in characters. */
const BAR_WIDTH = 30;

function formatValue(value: number): string {
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(3);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A MonitorView: the bar (and the live chart unless `chart: false`). */
export class LiveView implements MonitorView {
  private readonly now: () => number;
  private readonly output: LiveOutput | undefined;
  private readonly chart: LiveChart | undefined;
  private startedAt = 0;
  private lastShownAt = -Infinity;
  /** The latest bar line, shown or not. */
  latest = '';

  constructor(private readonly options: LiveViewOptions = {}) {
    this.now = options.now ?? Date.now;
    this.output = (options.live ?? inKernel()) ? new LiveOutput() : undefined;
    this.chart = options.chart === false ? undefined : new LiveChart({ now: options.now });
  }

  async show(state: MonitorState, event: 'start' | 'progress' | 'record' | 'final'): Promise<void> {
    if (event === 'start') this.startedAt = this.now();
    this.latest = this.line(state);
    const interval = this.output ? KERNEL_INTERVAL_MS : HEADLESS_INTERVAL_MS;
    const now = this.now();
    if (event === 'start' || event === 'final' || now - this.lastShownAt >= interval) {
      this.lastShownAt = now;
      if (!this.output?.show({ 'text/plain': this.latest, 'text/html': this.html(state) }))
        (this.options.stream ?? process.stderr).write(this.latest + '\n');
    }
    const spec = () => historyChart(state.history, this.options);
    if (event === 'record') await this.chart?.update(spec);
    if (event === 'final' && state.history[state.unit].length > 0) await this.chart?.finish(spec);
  }

  private line(state: MonitorState): string {
    const filled = Math.round((state.total > 0 ? Math.min(1, state.done / state.total) : 1) * BAR_WIDTH);
    const pairs = Object.entries(state.values).map(([name, value]) => `  ${name} ${formatValue(value)}`);
    const done = Number.isInteger(state.done) ? String(state.done) : state.done.toFixed(1);
    const seconds = ((this.now() - this.startedAt) / 1000).toFixed(1);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    return `${state.label} ${bar} ${done}/${state.total} ${state.unit}s  ${seconds}s${pairs.join('')}`;
  }

  private html(state: MonitorState): string {
    const cells = Object.entries(state.values).map(
      ([name, value]) =>
        `<td style="padding:0 8px">${escapeHtml(name)}</td>` +
        `<td style="font-family:monospace">${formatValue(value)}</td>`,
    );
    return (
      `<div><span>${escapeHtml(localize(state.label))}</span> ` +
      `<progress value="${state.done}" max="${state.total}" style="width:240px"></progress>` +
      ` <span style="font-family:monospace">${state.done}/${state.total} ${localize(`${state.unit}s`)}</span>` +
      `<table style="display:inline-table;margin-left:8px"><tr>${cells.join('')}</tr></table></div>`
    );
  }
}

/** A TrainingMonitor shown by a LiveView: `new LiveMonitor({ iterations: 2001, label: 'GAN' })`. */
export class LiveMonitor extends TrainingMonitor {
  constructor(options: Omit<TrainingMonitorOptions, 'view'> & LiveViewOptions) {
    super({ ...options, view: new LiveView(options) });
  }
}
