/**
 * Several named values per epoch as lines on one chart: a VAE's loss with its reconstruction
 * and KL terms, say. Epochs are counted from 1, as the progress bar and printed lines count them.
 */
import { checkSeriesLengths, VEGA_LITE_SCHEMA, type ChartOptions } from './charts';
import type { ChartSpec } from './render';

export interface EpochSeriesHistory {
  /** Epoch indices counted from 0. */
  epoch: number[];
  /** One array of values per series, each with one value per epoch. */
  values: Record<string, number[]>;
}

export interface EpochSeriesChartOptions extends ChartOptions {
  /** Y axis title. Default 'value'. */
  yTitle?: string;
  /** 'log' shows series of different sizes together (a KL of 4 beside a loss of 50). Default 'linear'. */
  yScale?: 'linear' | 'log';
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** One line per series against the epoch (from 1), with a dot and tooltip at each epoch. */
export function epochSeriesChart(history: EpochSeriesHistory, options: EpochSeriesChartOptions = {}): ChartSpec {
  const names = Object.keys(history.values);
  if (names.length === 0) throw new Error('epochSeriesChart: history.values is empty; give at least one series.');
  checkSeriesLengths('epochSeriesChart', 'epoch', history.epoch, history.values);
  const rows = history.epoch.map((epoch, i) => {
    const row: Record<string, number | null> = { epoch: epoch + 1 };
    // NaN or infinity (a diverged loss) becomes a gap in the line.
    for (const name of names) row[name] = Number.isFinite(history.values[name][i]) ? history.values[name][i] : null;
    return row;
  });
  const firstEpoch = rows.length > 0 ? Math.min(...history.epoch) + 1 : 1;
  const lastEpoch = Math.max(firstEpoch + 1, ...history.epoch.map((epoch) => epoch + 1));
  const yTitle = options.yTitle ?? 'value';
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: options.title ?? `${names.join(', ')} per epoch`,
    width: options.width ?? 480,
    height: options.height ?? 260,
    data: { values: rows },
    transform: [{ fold: names, as: ['series', 'value'] }],
    mark: { type: 'line', strokeWidth: 2, point: { size: 30, filled: true }, tooltip: true },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: [firstEpoch, lastEpoch] },
        axis: { tickCount: Math.max(1, Math.min(rows.length - 1, 10)) },
      },
      y: {
        field: 'value',
        type: 'quantitative',
        title: options.yScale === 'log' ? `${yTitle} (log scale)` : yTitle,
        scale: options.yScale === 'log' ? { type: 'log' } : { zero: false },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: names, range: PALETTE.slice(0, names.length) },
      },
      tooltip: [
        { field: 'series', type: 'nominal', title: 'curve' },
        { field: 'epoch', type: 'quantitative', title: 'epoch' },
        { field: 'value', type: 'quantitative', title: yTitle, format: '.4f' },
      ],
    },
  } as ChartSpec;
}
