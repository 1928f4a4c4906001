/**
 * The Korean edition (한국어판). `notebooks/NAME.ko.ipynb` is generated, never edited: it is the
 * English `notebooks/NAME.ipynb` with each markdown cell and each code comment replaced from
 * `i18n/ko/NAME.md`. The code itself is copied, so the two editions run the same program.
 *
 * The translation file is markdown with one marker per English cell, keyed by the cell's id:
 *
 *     <!-- markdown 01-00 en:1a2b3c4d -->
 *     (the Korean text of that markdown cell)
 *
 *     <!-- code 01-01 -->
 *     // the English comment, exactly as in the cell
 *     // 그 주석의 한국어
 *
 * `en:` is a hash of the English text that was translated, so a later change to the English cell
 * is caught ("changed since it was translated") instead of leaving stale Korean behind. A code
 * section pairs lines: an English comment, then its Korean replacement (blank lines between pairs
 * are optional). Both editions sit in notebooks/ so that their imports (`'../lib'`) are the same.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { sourceLines, sourceText, type Notebook, type NotebookCell } from './ipynb';

export type Edition = 'en' | 'ko';
export const EDITIONS: readonly Edition[] = ['en', 'ko'];

/** `01-dcgan.ipynb` -> `01-dcgan.ko.ipynb`. */
export function koreanName(englishName: string): string {
  return englishName.replace(/\.ipynb$/, '.ko.ipynb');
}

/** The edition a notebook file belongs to, from its name. */
export function editionOf(name: string): Edition {
  return name.endsWith('.ko.ipynb') ? 'ko' : 'en';
}

/** The English notebook a file comes from: itself, or the source of a Korean one. */
export function englishName(name: string): string {
  return name.replace(/\.ko\.ipynb$/, '.ipynb');
}

/** A short hash of an English cell's text, recorded beside its translation. */
export function textHash(text: string): string {
  return createHash('sha256').update(text.trim()).digest('hex').slice(0, 8);
}

export interface Translation {
  file: string;
  markdown: Map<string, { from: string; text: string; line: number }>;
  comments: Map<string, { pairs: Map<string, string>; line: number }>;
}

const MARKER = /^<!-- (markdown|code) (\S+)(?: en:([0-9a-f]{8}))? -->$/;

function trimBlankLines(lines: string[]): string {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start].trim() === '') start++;
  while (end > start && lines[end - 1].trim() === '') end--;
  return lines.slice(start, end).join('\n');
}

function isComment(line: string): boolean {
  return line.startsWith('//') || (line.startsWith('/*') && line.endsWith('*/'));
}

/** Parses a translation file; every error names the file, the line and what was expected. */
export function parseTranslation(file: string, text: string): Translation {
  const translation: Translation = { file, markdown: new Map(), comments: new Map() };
  const lines = text.split('\n');
  let current: { kind: string; id: string; from?: string; line: number; body: string[] } | undefined;
  const finish = (): void => {
    if (!current) return;
    const where = `${file}:${current.line}`;
    if (translation.markdown.has(current.id) || translation.comments.has(current.id)) {
      throw new Error(`${where}: cell ${current.id} has a second section; each cell id appears once.`);
    }
    if (current.kind === 'markdown') {
      if (!current.from) throw new Error(`${where}: a markdown section needs "en:HASH" (the English text's hash).`);
      const body = trimBlankLines(current.body);
      if (body === '') throw new Error(`${where}: the Korean text of markdown cell ${current.id} is empty.`);
      translation.markdown.set(current.id, { from: current.from, text: body, line: current.line });
      return;
    }
    const pairs = new Map<string, string>();
    const body = current.body.map((line, index) => ({ line: line.trim(), number: current!.line + 1 + index }));
    const filled = body.filter((entry) => entry.line !== '');
    for (let i = 0; i < filled.length; i += 2) {
      const [english, korean] = [filled[i], filled[i + 1]];
      if (!korean)
        throw new Error(`${file}:${english.number}: the comment "${english.line}" has no Korean line after it.`);
      for (const entry of [english, korean]) {
        if (!isComment(entry.line)) {
          throw new Error(
            `${file}:${entry.number}: expected a one-line comment (// ... or /* ... */), found "${entry.line}".`,
          );
        }
      }
      pairs.set(english.line, korean.line);
    }
    translation.comments.set(current.id, { pairs, line: current.line });
  };
  lines.forEach((line, index) => {
    const match = MARKER.exec(line.trim());
    if (match) {
      finish();
      current = { kind: match[1], id: match[2], from: match[3], line: index + 1, body: [] };
    } else if (current) {
      current.body.push(line);
    }
  });
  finish();
  return translation;
}

export function readTranslation(file: string): Translation {
  if (!fs.existsSync(file))
    throw new Error(`${file} is missing: the Korean edition needs one translation per notebook.`);
  return parseTranslation(file, fs.readFileSync(file, 'utf8'));
}

interface SourceToken {
  text: string;
  line: number;
}

/** The parser also hands out `/** ... *\/` comments as JSDoc nodes: they are comments here. */
function isDocComment(node: ts.Node): boolean {
  return node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode;
}

/** Every token of a code cell except comments and whitespace, as TypeScript's parser sees them. */
export function codeTokens(source: string): SourceToken[] {
  const file = ts.createSourceFile('cell.ts', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const tokens: SourceToken[] = [];
  const visit = (node: ts.Node): void => {
    if (isDocComment(node)) return;
    const children = node.getChildren(file);
    if (children.length === 0 && node.kind !== ts.SyntaxKind.EndOfFileToken && node.kind !== ts.SyntaxKind.SyntaxList) {
      tokens.push({ text: node.getText(file), line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1 });
    }
    children.forEach(visit);
  };
  visit(file);
  return tokens;
}

/** The comments of a code cell with their positions, found where the parser finds trivia. */
export function codeComments(source: string): { text: string; start: number; end: number }[] {
  const file = ts.createSourceFile('cell.ts', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const seen = new Map<number, { text: string; start: number; end: number }>();
  const collect = (position: number): void => {
    const ranges = [
      ...(ts.getTrailingCommentRanges(source, position) ?? []),
      ...(ts.getLeadingCommentRanges(source, position) ?? []),
    ];
    for (const range of ranges) {
      seen.set(range.pos, { text: source.slice(range.pos, range.end), start: range.pos, end: range.end });
    }
  };
  const visit = (node: ts.Node): void => {
    if (isDocComment(node)) return;
    collect(node.pos);
    node.getChildren(file).forEach(visit);
  };
  visit(file);
  collect(file.endOfFileToken.pos);
  return [...seen.values()].sort((a, b) => a.start - b.start);
}

/**
 * Where a Korean code cell differs from its English one, ignoring comments: one sentence that names
 * the notebook, the cell and the first differing line, or undefined when they are the same code.
 */
export function codeDrift(notebook: string, cellId: string, english: string, korean: string): string | undefined {
  const [a, b] = [codeTokens(english), codeTokens(korean)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i]?.text !== b[i]?.text) {
      const found = b[i] ? `"${b[i].text}" on its line ${b[i].line}` : 'the end of the cell';
      const wanted = a[i] ? `"${a[i].text}" (English line ${a[i].line})` : 'the end of the cell';
      const cell = `${notebook}, code cell ${cellId}`;
      return `${cell}: the code differs from the English edition: expected ${wanted}, found ${found}.`;
    }
  }
  return undefined;
}

function cellLabel(cell: NotebookCell, index: number): string {
  return `cell ${cell.id ?? '(no id)'} (number ${index + 1})`;
}

/** Replaces each comment of an English code cell with its Korean line; problems name what is missing. */
function translateComments(source: string, pairs: Map<string, string>, where: string, problems: string[]): string {
  const used = new Set<string>();
  let result = source;
  for (const comment of codeComments(source).reverse()) {
    const korean = pairs.get(comment.text.trim());
    if (korean === undefined) {
      problems.push(`${where}: no Korean for the comment ${JSON.stringify(comment.text.trim())}.`);
      continue;
    }
    used.add(comment.text.trim());
    result = result.slice(0, comment.start) + korean + result.slice(comment.end);
  }
  for (const english of pairs.keys()) {
    if (!used.has(english))
      problems.push(`${where}: the comment ${JSON.stringify(english)} is no longer in the English cell.`);
  }
  return result;
}

/**
 * Builds the Korean notebook from the English one and its translation. `problems` lists every
 * missing, stale or unused translation; the notebook is only meant to be written when it is empty.
 */
export function buildKorean(
  english: Notebook,
  name: string,
  translation: Translation,
): { notebook: Notebook; problems: string[] } {
  const problems: string[] = [];
  const ids = new Set<string>();
  const cells = english.cells.map((cell, index): NotebookCell => {
    const id = cell.id ?? '';
    ids.add(id);
    const where = `${translation.file}, ${cellLabel(cell, index)} of ${name}`;
    let source = sourceText(cell.source);
    if (cell.cell_type === 'markdown') {
      const entry = translation.markdown.get(id);
      if (!entry)
        problems.push(`${where}: no Korean text (add a "<!-- markdown ${id} en:${textHash(source)} -->" section).`);
      else if (entry.from !== textHash(source)) {
        problems.push(
          `${where}: the English text changed since it was translated ` +
            `(en:${entry.from}, now en:${textHash(source)}); update the Korean and its hash.`,
        );
      } else source = entry.text;
      return { cell_type: 'markdown', id: cell.id, metadata: cell.metadata, source: sourceLines(source) };
    }
    if (cell.cell_type === 'code') {
      const entry = translation.comments.get(id);
      if (!entry && codeComments(source).length > 0) problems.push(`${where}: no "<!-- code ${id} -->" section.`);
      else if (entry) source = translateComments(source, entry.pairs, where, problems);
      return {
        cell_type: 'code',
        execution_count: null,
        id: cell.id,
        metadata: cell.metadata,
        outputs: [],
        source: sourceLines(source),
      };
    }
    return { ...cell };
  });
  for (const id of [...translation.markdown.keys(), ...translation.comments.keys()]) {
    if (!ids.has(id)) problems.push(`${translation.file}: cell ${id} is not in ${name} any more.`);
  }
  const metadata = { ...english.metadata, language: 'ko', translated_from: name };
  return { notebook: { ...english, metadata, cells }, problems };
}

/** The text Jupyter writes for a notebook (one-space indent, sorted keys, trailing newline). */
export function notebookText(notebook: Notebook): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return `${JSON.stringify(sorted(notebook), null, 1)}\n`;
}

/**
 * A translation file to start from: every cell's marker and hash, the English markdown to replace
 * and each English comment followed by itself. Sections already translated in `previous` are kept.
 */
export function translationSkeleton(english: Notebook, previous?: Translation): string {
  const parts: string[] = [];
  for (const cell of english.cells) {
    const id = cell.id ?? '';
    const source = sourceText(cell.source);
    if (cell.cell_type === 'markdown') {
      const old = previous?.markdown.get(id);
      parts.push(`<!-- markdown ${id} en:${old?.from ?? textHash(source)} -->\n${old?.text ?? source.trim()}\n`);
    } else if (cell.cell_type === 'code') {
      const comments = [...new Set(codeComments(source).map((comment) => comment.text.trim()))];
      if (comments.length === 0) continue;
      const old = previous?.comments.get(id)?.pairs;
      parts.push(
        `<!-- code ${id} -->\n${comments.map((comment) => `${comment}\n${old?.get(comment) ?? comment}\n`).join('\n')}`,
      );
    }
  }
  return parts.join('\n');
}

/** The translation file of an English notebook. */
export function translationFile(repoRoot: string, englishNotebook: string): string {
  return path.join(repoRoot, 'i18n', 'ko', englishNotebook.replace(/\.ipynb$/, '.md'));
}
