/**
 * Training progress: one bar plus the latest losses.
 * In a tslab kernel it is ONE cell output updated in place (LiveOutput, text/plain and
 * text/html); elsewhere it writes a line to stderr at most every `intervalMs` and at the end.
 */
import { inKernel, LiveOutput } from '../display/kernel';

export interface ProgressReporterOptions {
  /** Shown before the bar, e.g. 'GAN'. Default ''. */
  label?: string;
  /** Minimum milliseconds between headless lines. Default 2000. */
  intervalMs?: number;
  /** Minimum milliseconds between in-place kernel updates. Default 200. */
  kernelIntervalMs?: number;
  /** Where headless lines go. Default process.stderr. */
  stream?: { write(text: string): unknown };
  /** Use the kernel's live output: default true when running inside a tslab kernel. */
  live?: boolean;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /** Bar width in characters. Default 30. */
  width?: number;
}

function formatValue(value: number): string {
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(3);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class ProgressReporter {
  private readonly label: string;
  private readonly intervalMs: number;
  private readonly kernelIntervalMs: number;
  private readonly stream: { write(text: string): unknown };
  private readonly live: boolean;
  private readonly now: () => number;
  private readonly width: number;
  private output?: LiveOutput;
  private total = 0;
  private unit = 'step';
  private startedAt = 0;
  private lastShownAt = -Infinity;
  private lastLine = '';

  constructor(options: ProgressReporterOptions = {}) {
    this.label = options.label ?? '';
    this.intervalMs = options.intervalMs ?? 2000;
    this.kernelIntervalMs = options.kernelIntervalMs ?? 200;
    this.stream = options.stream ?? process.stderr;
    this.live = options.live ?? inKernel();
    this.now = options.now ?? Date.now;
    this.width = options.width ?? 30;
  }

  /** Begins a run of `total` units (iterations or epochs); `done` is where it resumes. */
  start(total: number, unit: string, done = 0): void {
    this.total = total;
    this.unit = unit;
    this.startedAt = this.now();
    this.lastShownAt = -Infinity;
    if (this.live) this.output = new LiveOutput();
    this.update(done, {});
  }

  /** Reports that `done` units are finished, with the latest values (losses, metrics). */
  update(done: number, values: Record<string, number>, force = false): void {
    const line = this.line(done, values);
    this.lastLine = line;
    const now = this.now();
    const interval = this.live ? this.kernelIntervalMs : this.intervalMs;
    if (!force && now - this.lastShownAt < interval) return;
    this.lastShownAt = now;
    this.show(line, done, values);
  }

  /** Shows the final state (always, whatever the throttle). */
  finish(done: number, values: Record<string, number>): void {
    this.update(done, values, true);
  }

  /** The latest line, shown or not. */
  get latest(): string {
    return this.lastLine;
  }

  private line(done: number, values: Record<string, number>): string {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(fraction * this.width);
    const bar = '#'.repeat(filled) + '-'.repeat(this.width - filled);
    const seconds = (this.now() - this.startedAt) / 1000;
    const pairs = Object.entries(values)
      .map(([name, value]) => `${name} ${formatValue(value)}`)
      .join('  ');
    const prefix = this.label ? `${this.label} ` : '';
    const shownDone = Number.isInteger(done) ? String(done) : done.toFixed(1);
    const shownValues = pairs ? '  ' + pairs : '';
    return `${prefix}[${bar}] ${shownDone}/${this.total} ${this.unit}s  ${seconds.toFixed(1)}s${shownValues}`;
  }

  private show(line: string, done: number, values: Record<string, number>): void {
    if (this.output) {
      const cells = Object.entries(values)
        .map(
          ([name, value]) =>
            `<td style="padding:0 8px">${escapeHtml(name)}</td>` +
            `<td style="font-family:monospace">${formatValue(value)}</td>`,
        )
        .join('');
      const html =
        `<div><span>${escapeHtml(this.label)}</span> ` +
        `<progress value="${done}" max="${this.total}" style="width:240px"></progress>` +
        ` <span style="font-family:monospace">${done}/${this.total} ${escapeHtml(this.unit)}s</span>` +
        `<table style="display:inline-table;margin-left:8px"><tr>${cells}</tr></table></div>`;
      if (this.output.show({ 'text/plain': line, 'text/html': html })) return;
    }
    this.stream.write(line + '\n');
  }
}

/** The reporter a training function uses: given one, a default one, or none for `false`. */
export function resolveProgress(
  progress: ProgressReporter | boolean | undefined,
  label: string,
): ProgressReporter | undefined {
  if (progress === false) return undefined;
  if (progress === undefined || progress === true) return new ProgressReporter({ label });
  return progress;
}
