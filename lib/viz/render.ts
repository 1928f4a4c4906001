/**
 * Vega-Lite spec -> static SVG, in Node, without a browser or a canvas:
 * vega-lite compiles the spec to Vega, a headless vega View (renderer 'none') lays it out and
 * `toSVG()` writes the scene as SVG text. Warnings from both steps are collected, never printed.
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { LoggerInterface, Spec as VegaSpec } from 'vega';
import type { TopLevelSpec } from 'vega-lite';

/** A complete Vega-Lite v5 specification, as the builders in charts.ts and latent.ts return. */
export type ChartSpec = TopLevelSpec;

/** Thrown by renderSvg when the chart compiles or renders with warnings (see `warnings`). */
export class ChartWarningError extends Error {
  constructor(readonly warnings: string[]) {
    super(
      `The chart produced ${warnings.length} warning(s) from vega-lite/vega:\n  ${warnings.join('\n  ')}\n` +
        'Fix the spec (a field name, type or encoding it names), or pass { warnings: "ignore" } to draw it anyway.',
    );
    this.name = 'ChartWarningError';
  }
}

/** A vega logger that keeps warnings and errors in `messages` instead of printing them. */
function collectingLogger(messages: string[]): LoggerInterface {
  return vega.logger(vega.Warn, undefined, (_method, level, input) => {
    messages.push(`${level === 'ERROR' ? 'error' : 'warning'}: ${Array.from(input, String).join(' ')}`);
  });
}

/** Compiles a Vega-Lite spec to Vega, collecting vega-lite's warnings instead of printing them. */
export function compileChart(spec: ChartSpec): { vegaSpec: VegaSpec; warnings: string[] } {
  const warnings: string[] = [];
  // A copy: vega tags inline data rows with ids as it runs, and the caller's spec stays untouched.
  const { spec: vegaSpec } = vegaLite.compile(structuredClone(spec), { logger: collectingLogger(warnings) });
  return { vegaSpec, warnings };
}

/**
 * Draws a Vega-Lite spec as SVG text with vega in Node (no browser, no canvas), coordinates kept to
 * 2 decimals (vega writes up to 17 digits, which for 10,000 points triples the SVG's size). Throws
 * a ChartWarningError if compiling or rendering warns, unless `warnings` is 'ignore'.
 */
export async function renderSvg(spec: ChartSpec, options: { warnings?: 'throw' | 'ignore' } = {}): Promise<string> {
  const { vegaSpec, warnings } = compileChart(spec);
  const logger = collectingLogger(warnings);
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    if (options.warnings !== 'ignore' && warnings.length > 0) throw new ChartWarningError(warnings);
    return compactSvgCoordinates(svg);
  } finally {
    view.finalize();
  }
}

/**
 * Rounds the numbers inside geometry attributes (d, transform, x, y, x2, y2, width, height)
 * to 2 decimal places. Text, labels and colours are left alone.
 */
export function compactSvgCoordinates(svg: string): string {
  const longNumber = /(-?\d+\.\d{3,})(e-?\d+)?/g;
  const roundNumber = (text: string): string => {
    const rounded = Number(Number(text).toFixed(2));
    return String(Object.is(rounded, -0) ? 0 : rounded);
  };
  return svg.replace(
    / (d|transform|x|y|x2|y2|width|height)="([^"]*)"/g,
    (_match, name: string, value: string) => ` ${name}="${value.replace(longNumber, roundNumber)}"`,
  );
}
