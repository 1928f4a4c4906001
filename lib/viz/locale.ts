/**
 * The language of the pictures. The Korean edition (notebooks/NAME.ko.ipynb) runs the same code as
 * the English one, so the chart builders find the language themselves: Jupyter tells each kernel
 * its notebook's path in JPY_SESSION_NAME (JupyterLab and the headless runner both do). Titles,
 * axes and legends then pass through one phrase book, phrases.ko.json, whose keys are the English
 * text; "{}" in a key stands for any text, itself translated when the book has it.
 */
import type { ChartSpec } from './render';
import KOREAN from './phrases.ko.json';

export type Locale = 'en' | 'ko';

/** 'ko' in a Korean-edition notebook (or when GAN_NOTEBOOKS_LOCALE=ko), else 'en'. */
export function notebookLocale(): Locale {
  const forced = process.env.GAN_NOTEBOOKS_LOCALE;
  if (forced === 'ko' || forced === 'en') return forced;
  return /\.ko\.ipynb$/.test(process.env.JPY_SESSION_NAME ?? '') ? 'ko' : 'en';
}

const PATTERNS = Object.entries(KOREAN as Record<string, string>)
  .filter(([english]) => english.includes('{}'))
  .map(([english, korean]) => {
    const escaped = english.split('{}').map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'));
    return { match: new RegExp(`^${escaped.join('(.+?)')}$`), korean };
  });

/** `text` in `locale`: the phrase book's entry, or the text unchanged where it has none. */
export function localize(text: string, locale: Locale = notebookLocale()): string {
  if (locale === 'en') return text;
  const exact = (KOREAN as Record<string, string>)[text];
  if (exact !== undefined) return exact;
  for (const { match, korean } of PATTERNS) {
    const found = match.exec(text);
    if (found) {
      let part = 0;
      return korean.replace(/\{\}/g, () => localize(found[++part], locale));
    }
  }
  return text;
}

/** Every title of a vega-lite spec (chart, axes, legends, tooltips) in `locale`: the builders' last step. */
export function localizeChart(spec: ChartSpec, locale: Locale = notebookLocale()): ChartSpec {
  if (locale === 'en') return spec;
  const visit = (value: unknown, key?: string): unknown => {
    if (typeof value === 'string') return key === 'title' || key === 'text' ? localize(value, locale) : value;
    if (Array.isArray(value)) return value.map((item) => visit(item, key));
    if (value === null || typeof value !== 'object') return value;
    // Data rows are values, not labels: they pass unchanged.
    return Object.fromEntries(
      Object.entries(value).map(([name, item]) => [
        name,
        name === 'values' || name === 'datasets' ? item : visit(item, name),
      ]),
    );
  };
  // Vega measures text in Node with the fonts it finds there; the page draws Hangul a few pixels
  // wider, which would clip legend labels at the right edge without a little more room.
  return { padding: { left: 5, top: 5, bottom: 5, right: 14 }, ...(visit(spec) as object) } as ChartSpec;
}
