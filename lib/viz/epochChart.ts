/**
 * Several named values per epoch as lines on one chart: a VAE's loss with its reconstruction
 * and KL terms, say. Epochs are counted from 1, as the progress bar and printed lines count them.
 */
import { checkSeriesLengths, epochLinesChart, type ChartOptions } from './charts';
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

/** One line per series against the epoch (from 1), with a dot and tooltip at each epoch. */
export function epochSeriesChart(history: EpochSeriesHistory, options: EpochSeriesChartOptions = {}): ChartSpec {
  const names = Object.keys(history.values);
  if (names.length === 0) throw new Error('epochSeriesChart: history.values is empty; give at least one series.');
  checkSeriesLengths('epochSeriesChart', 'epoch', history.epoch, history.values);
  const yTitle = options.yTitle ?? 'value';
  return epochLinesChart(history.epoch, history.values, {
    title: options.title ?? `${names.join(', ')} per epoch`,
    width: options.width,
    height: options.height,
    yTitle,
    valueTitle: yTitle,
    points: true,
    yScale: options.yScale,
  });
}
