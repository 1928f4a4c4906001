/**
 * The parts of the Jupyter notebook format (nbformat 4) that the runner reads and writes.
 * Everything else in a notebook passes through untouched.
 */
import * as fs from 'fs';
import * as ts from 'typescript';

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

/**
 * The source of a notebook's code cells tagged with any of `tags`, in order, one after another:
 * how the tests and the bench take a chapter's own code (its parameters, model and loop cells).
 */
export function taggedSource(file: string, tags: string[]): string {
  const cells = readNotebook(file).cells.filter(
    (cell) => cell.cell_type === 'code' && cellTags(cell).some((tag) => tags.includes(tag)),
  );
  for (const tag of tags) {
    if (!cells.some((cell) => cellTags(cell).includes(tag))) throw new Error(`${file}: no code cell tagged "${tag}".`);
  }
  return cells.map((cell) => sourceText(cell.source)).join('\n');
}

/**
 * Runs notebook code (TypeScript, transpiled) as a function body whose free names come from
 * `scope` (what the notebook imports); the body's `return` value is returned.
 */
export function runCellSource<T>(body: string, scope: Record<string, unknown>): T {
  const js = ts.transpileModule(body, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const names = Object.keys(scope);
  const run = new Function(...names, js) as (...values: unknown[]) => T;
  return run(...names.map((name) => scope[name]));
}
