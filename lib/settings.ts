/**
 * Checking a notebook's settings where they are declared. Each chapter's parameters cell is
 * followed by one call, `checkSettings({ batchSize: { value: batchSize, min: 1 }, ... })`, so a
 * value that makes no sense (a batch of 0 images, a negative code size, a learning rate of 0)
 * stops the notebook before anything is built or trained, with one line that names the setting,
 * the value it has and what it may be. Without it such a value fails deep inside TensorFlow.js
 * ("Pass at least one tensor to concat"), or runs to the end and draws nonsense.
 *
 * No TensorFlow here: the check is plain JavaScript and runs in microseconds.
 */

/** What one setting holds and what it may hold. Every bound is optional; give the ones that apply. */
export interface SettingRule {
  /** The setting's current value (what the parameters cell, or the runner's `--set`, gave it). */
  value: unknown;
  /**
   * 'integer' (a whole number: counts, sizes, seeds), 'number' (any finite number: rates,
   * weights) or 'boolean' (true or false). Default: 'integer'.
   */
  type?: 'integer' | 'number' | 'boolean';
  /** The values allowed, for a setting that names a choice (e.g. a precision); the type is then ignored. */
  oneOf?: readonly string[];
  /** The smallest value allowed (inclusive). Default: none. */
  min?: number;
  /** The largest value allowed (inclusive). Default: none. */
  max?: number;
  /** The value must be greater than this (exclusive; a learning rate is above 0). Default: none. */
  above?: number;
  /** A few words on why, added to the message in parentheses, e.g. "the book uses 32". Default: none. */
  why?: string;
}

/** The error a bad setting gives: its message is the whole story (one line per bad setting). */
export class SettingError extends Error {
  override readonly name = 'SettingError';
  constructor(message: string) {
    super(message);
    // The stack would point into this file, not at the setting: show the message alone.
    this.stack = `${this.name}: ${message}`;
  }
}

/** A bound as prose writes it: 1,024 and 60,000 (whole numbers from 1,000 on get commas). */
function formatNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) >= 1000 ? n.toLocaleString('en-US') : String(n);
}

/** A value as it was typed: 20000, 0.5, true, "text". */
function formatValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** What the rule allows, in words: "a whole number from 1 to 1,024", "a number above 0", "true or false". */
export function describeRule(rule: SettingRule): string {
  if (rule.oneOf) return `one of ${rule.oneOf.map((choice) => `'${choice}'`).join(', ')}`;
  const type = rule.type ?? 'integer';
  if (type === 'boolean') return 'true or false';
  const kind = type === 'integer' ? 'a whole number' : 'a number';
  const bounds: string[] = [];
  if (rule.min !== undefined && rule.max !== undefined) {
    bounds.push(`from ${formatNumber(rule.min)} to ${formatNumber(rule.max)}`);
  } else if (rule.min !== undefined) {
    bounds.push(`of at least ${formatNumber(rule.min)}`);
  } else if (rule.max !== undefined) {
    bounds.push(`of at most ${formatNumber(rule.max)}`);
  }
  if (rule.above !== undefined) bounds.push(`above ${formatNumber(rule.above)}`);
  return [kind, bounds.join(' and ')].filter((part) => part !== '').join(' ');
}

/** Whether `value` satisfies `rule`. */
export function settingAllowed(rule: SettingRule): boolean {
  const { value } = rule;
  if (rule.oneOf) return typeof value === 'string' && rule.oneOf.includes(value);
  const type = rule.type ?? 'integer';
  if (type === 'boolean') return typeof value === 'boolean';
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (type === 'integer' && !Number.isInteger(value)) return false;
  if (rule.min !== undefined && value < rule.min) return false;
  if (rule.max !== undefined && value > rule.max) return false;
  if (rule.above !== undefined && !(value > rule.above)) return false;
  return true;
}

/**
 * Checks each setting against its rule and throws a SettingError whose message has one line per
 * bad setting: "batchSize = 0 is not allowed: it must be a whole number of at least 1. Change it in
 * the parameters cell." Returns nothing when all are allowed. The names are the settings' names in
 * the notebook (tslab needs them written out: `{ batchSize: { value: batchSize, ... } }`).
 */
export function checkSettings(rules: Record<string, SettingRule>): void {
  const names = Object.keys(rules);
  if (names.length === 0) throw new Error('checkSettings: give at least one setting and its rule.');
  const lines = names.flatMap((name) => {
    const rule = rules[name];
    if (settingAllowed(rule)) return [];
    const why = rule.why ? ` (${rule.why})` : '';
    return [
      `${name} = ${formatValue(rule.value)} is not allowed: it must be ${describeRule(rule)}${why}. ` +
        'Change it in the parameters cell.',
    ];
  });
  if (lines.length > 0) throw new SettingError(lines.join('\n'));
}
