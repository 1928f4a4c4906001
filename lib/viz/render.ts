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

/** What to do when vega-lite or vega report a warning. */
export type WarningPolicy = 'throw' | 'ignore';

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

/** A vega logger that keeps warnings and errors in an array instead of printing them. */
class CollectingLogger implements LoggerInterface {
  readonly messages: string[] = [];
  private currentLevel = vega.Warn;

  level(): number;
  level(value: number): this;
  level(value?: number): number | this {
    if (value === undefined) return this.currentLevel;
    this.currentLevel = value;
    return this;
  }

  error(...args: readonly unknown[]): this {
    this.messages.push(`error: ${args.map(String).join(' ')}`);
    return this;
  }

  warn(...args: readonly unknown[]): this {
    this.messages.push(`warning: ${args.map(String).join(' ')}`);
    return this;
  }

  info(): this {
    return this;
  }

  debug(): this {
    return this;
  }
}

/** The compiled Vega spec and every warning vega-lite reported while compiling. */
export interface CompiledChart {
  vegaSpec: VegaSpec;
  warnings: string[];
}

/** Compiles a Vega-Lite spec to Vega, collecting vega-lite's warnings instead of printing them. */
export function compileChart(spec: ChartSpec): CompiledChart {
  const logger = new CollectingLogger();
  // A copy: vega tags inline data rows with ids as it runs, and the caller's spec stays untouched.
  const { spec: vegaSpec } = vegaLite.compile(structuredClone(spec), { logger });
  return { vegaSpec, warnings: logger.messages };
}

export interface RenderSvgOptions {
  /** 'throw' (default): a ChartWarningError if compiling or rendering warns; 'ignore': draw anyway. */
  warnings?: WarningPolicy;
  /**
   * Decimals kept for coordinates in path data and transforms. Default 2 (a hundredth of a
   * pixel): vega writes up to 17 digits, which for 10,000 points triples the SVG's size.
   */
  coordinateDecimals?: number;
}

/** Draws a Vega-Lite spec as SVG text with vega in Node (no browser, no canvas). */
export async function renderSvg(spec: ChartSpec, options: RenderSvgOptions = {}): Promise<string> {
  const policy = options.warnings ?? 'throw';
  const { vegaSpec, warnings } = compileChart(spec);
  const logger = new CollectingLogger();
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    const all = [...warnings, ...logger.messages];
    if (policy === 'throw' && all.length > 0) throw new ChartWarningError(all);
    return compactSvgCoordinates(svg, options.coordinateDecimals ?? 2);
  } finally {
    view.finalize();
  }
}

/**
 * Rounds the numbers inside geometry attributes (d, transform, x, y, x2, y2, width, height)
 * to `decimals` places. Text, labels and colours are left alone.
 */
export function compactSvgCoordinates(svg: string, decimals: number): string {
  if (!Number.isInteger(decimals) || decimals < 0) {
    throw new Error(`compactSvgCoordinates: decimals must be a whole number >= 0, got ${decimals}`);
  }
  const longNumber = new RegExp(`(-?\\d+\\.\\d{${decimals + 1},})(e-?\\d+)?`, 'g');
  const roundNumber = (text: string): string => {
    const rounded = Number(Number(text).toFixed(decimals));
    return String(Object.is(rounded, -0) ? 0 : rounded);
  };
  return svg.replace(
    / (d|transform|x|y|x2|y2|width|height)="([^"]*)"/g,
    (_match, name: string, value: string) => ` ${name}="${value.replace(longNumber, roundNumber)}"`,
  );
}
