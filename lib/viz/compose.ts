/**
 * Charts side by side in one picture: two latent maps to compare, say. Each chart keeps its own
 * axes; a shared colour field (the digit) keeps one legend.
 */
import { VEGA_LITE_SCHEMA } from './charts';
import type { ChartSpec } from './render';

type Spec = Record<string, unknown>;

/**
 * The charts in one row (vega-lite hconcat). Each keeps its size, title, axes and layers; the
 * embedding hints of the first (its usermeta: canvas or SVG in JupyterLab) apply to the whole.
 */
export function sideBySide(charts: ChartSpec[]): ChartSpec {
  if (charts.length < 2) throw new Error(`sideBySide: give two or more charts; got ${charts.length}.`);
  const children = charts.map((chart, i) => {
    const spec = chart as unknown as Spec;
    if ('hconcat' in spec || 'vconcat' in spec || 'concat' in spec)
      throw new Error(`sideBySide: chart ${i} is already a concatenation; pass single charts.`);
    const { $schema: _schema, usermeta: _usermeta, config: _config, ...rest } = spec;
    // Layer names get a prefix, so two copies of one kind of chart stay distinct in vega.
    const layer = (rest.layer as Spec[] | undefined)?.map((l) =>
      typeof l.name === 'string' ? { ...l, name: `c${i}_${l.name}` } : l,
    );
    return layer ? { ...rest, layer } : rest;
  });
  const first = charts[0] as unknown as Spec;
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(first.usermeta ? { usermeta: first.usermeta } : {}),
    ...(first.config ? { config: first.config } : {}),
    hconcat: children,
  } as unknown as ChartSpec;
}
