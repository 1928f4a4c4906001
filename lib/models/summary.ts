/**
 * A Keras-style model summary as a string, so notebooks can show it and tests can check it.
 * tfjs's `model.summary()` prints to the console instead; this returns the same facts.
 */
import type { LayersModel } from '@tensorflow/tfjs-node';

export interface SummaryOptions {
  /**
   * Layers (usually nested models) to count as non-trainable, whatever their flag says now.
   * The combined GAN passes its discriminator: it is frozen inside the combined model's steps
   * (see dcgan.ts), which is what Keras's summary shows. Default: none.
   */
  frozen?: Array<{ name: string }>;
}

export interface ParamCounts {
  total: number;
  trainable: number;
  nonTrainable: number;
}

const sizeOf = (shape: Array<number | null>) => shape.reduce((size: number, dim) => size * (dim ?? 1), 1);

/** Total, trainable and non-trainable parameter counts (BatchNorm moving stats are non-trainable). */
export function paramCounts(model: LayersModel, options: SummaryOptions = {}): ParamCounts {
  const frozen = new Set((options.frozen ?? []).map((layer) => layer.name));
  let total = 0;
  let trainable = 0;
  for (const layer of model.layers) {
    total += layer.countParams();
    if (!frozen.has(layer.name)) trainable += layer.trainableWeights.reduce((sum, w) => sum + sizeOf(w.shape), 0);
  }
  return { total, trainable, nonTrainable: total - trainable };
}

function formatShape(shape: unknown): string {
  if (Array.isArray(shape) && shape.length > 0 && Array.isArray(shape[0])) {
    return (shape as unknown[]).map(formatShape).join(', ');
  }
  if (Array.isArray(shape)) return `(${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')})`;
  return String(shape);
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

const thousands = (n: number): string => n.toLocaleString('en-US');

/** The summary table: one row per layer (name, type, output shape, params) and the totals. */
export function summaryTable(model: LayersModel, options: SummaryOptions = {}): string {
  const frozen = new Set((options.frozen ?? []).map((layer) => layer.name));
  const rows = model.layers.map((layer) => [
    ` ${layer.name} (${layer.getClassName()})`,
    formatShape(layer.outputShape),
    String(layer.countParams()),
  ]);
  // Columns as wide as their longest entry (tfjs layer names are long), at least Keras's widths.
  const widths = [
    Math.max(29, ...rows.map((row) => row[0].length + 2)),
    Math.max(26, ...rows.map((row) => row[1].length + 2)),
    12,
  ];
  const rule = (ch: string) => ch.repeat(widths[0] + widths[1] + widths[2]);
  const lines = [
    `Model: "${model.name}"`,
    rule('_'),
    pad(' Layer (type)', widths[0]) + pad('Output Shape', widths[1]) + 'Param #',
    rule('='),
  ];
  rows.forEach((row, i) => {
    if (i > 0) lines.push('');
    lines.push(pad(row[0], widths[0]) + pad(row[1], widths[1]) + row[2]);
  });
  const counts = paramCounts(model, options);
  lines.push(rule('='));
  lines.push(`Total params: ${thousands(counts.total)}`);
  lines.push(`Trainable params: ${thousands(counts.trainable)}`);
  lines.push(`Non-trainable params: ${thousands(counts.nonTrainable)}`);
  lines.push(rule('_'));
  if (frozen.size > 0) lines.push(`(counted as frozen: ${[...frozen].join(', ')})`);
  return lines.join('\n');
}
