/**
 * The parts of the Jupyter notebook format (nbformat 4) that the runner reads and writes.
 * Everything else in a notebook passes through untouched.
 */
import * as fs from 'fs';

/** Cell source: one string, or lines that each keep their trailing newline. */
export type MultilineString = string | string[];

export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: MultilineString;
  metadata: { tags?: string[]; [key: string]: unknown };
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export function sourceText(source: MultilineString): string {
  return Array.isArray(source) ? source.join('') : source;
}

/** Source lines in the form Jupyter writes them: every line but the last ends with "\n". */
export function sourceLines(text: string): string[] {
  const lines = text.split('\n');
  return lines.map((line, index) => (index < lines.length - 1 ? `${line}\n` : line)).filter((line) => line !== '');
}

export function cellTags(cell: NotebookCell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : [];
}

/** Reads a notebook file; the error names the file and what is wrong with it. */
export function readNotebook(file: string): Notebook {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`${file} is not a readable notebook (JSON): ${reason}`, { cause });
  }
  const notebook = parsed as Partial<Notebook>;
  if (notebook.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new Error(
      `${file} is not an nbformat 4 notebook: expected "nbformat": 4 and a "cells" list, ` +
        `found nbformat ${JSON.stringify(notebook.nbformat)}.`,
    );
  }
  return parsed as Notebook;
}
