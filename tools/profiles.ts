/**
 * Run profiles (notebooks/profiles.json): per-notebook parameter overrides and a per-cell
 * timeout for each way of running the notebooks.
 *
 *   { "smoke": { "cellTimeoutSeconds": 120, "notebooks": { "01-gan.ipynb": { "iterations": 20 } } },
 *     "full":  { "cellTimeoutSeconds": 3600, "notebooks": {} } }
 *
 * `full` overrides nothing: the notebooks as committed carry the book's settings.
 */
import * as fs from 'fs';
import type { ParameterValue, ParameterValues } from './parameters';

export interface Profile {
  /** Per-cell time limit in seconds (0: none). */
  cellTimeoutSeconds: number;
  /** Notebook file name to the parameters it overrides. */
  notebooks: Record<string, ParameterValues>;
}

export type Profiles = Record<string, Profile>;

export class ProfileFileError extends Error {
  override readonly name = 'ProfileFileError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and checks a profiles file; errors name the file, the field, what was expected and found. */
export function loadProfiles(file: string): Profiles {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ProfileFileError(`${file} could not be read as JSON: ${reason}`, { cause });
  }
  if (!isPlainObject(parsed)) {
    throw new ProfileFileError(
      `${file}: expected an object of profiles ({"smoke": {...}, "full": {...}}), found ${JSON.stringify(parsed)}.`,
    );
  }
  const profiles: Profiles = {};
  for (const [name, entry] of Object.entries(parsed)) {
    if (!isPlainObject(entry)) {
      throw new ProfileFileError(
        `${file}: profile "${name}" must be an object with "cellTimeoutSeconds" and "notebooks", ` +
          `found ${JSON.stringify(entry)}.`,
      );
    }
    const timeout = entry.cellTimeoutSeconds ?? 0;
    if (typeof timeout !== 'number' || !(timeout >= 0)) {
      throw new ProfileFileError(
        `${file}: "${name}.cellTimeoutSeconds" must be a number of seconds >= 0, found ${JSON.stringify(timeout)}.`,
      );
    }
    const notebooks = entry.notebooks ?? {};
    if (!isPlainObject(notebooks)) {
      throw new ProfileFileError(
        `${file}: "${name}.notebooks" must map notebook file names to parameter objects, ` +
          `found ${JSON.stringify(notebooks)}.`,
      );
    }
    const overrides: Record<string, ParameterValues> = {};
    for (const [notebook, values] of Object.entries(notebooks)) {
      if (!notebook.endsWith('.ipynb') || !isPlainObject(values)) {
        throw new ProfileFileError(
          `${file}: "${name}.notebooks" entries must look like "01-name.ipynb": { "iterations": 20 }, ` +
            `found "${notebook}": ${JSON.stringify(values)}.`,
        );
      }
      overrides[notebook] = values as Record<string, ParameterValue>;
    }
    const unknownKeys = Object.keys(entry).filter((key) => key !== 'cellTimeoutSeconds' && key !== 'notebooks');
    if (unknownKeys.length) {
      throw new ProfileFileError(
        `${file}: profile "${name}" has unknown field(s) ${unknownKeys.join(', ')}; ` +
          'expected cellTimeoutSeconds and notebooks.',
      );
    }
    profiles[name] = { cellTimeoutSeconds: timeout, notebooks: overrides };
  }
  return profiles;
}
