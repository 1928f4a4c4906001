/**
 * Every "Try next" suggestion that a reader can paste runs as written. Each notebook's "Try next"
 * section is read from its markdown; its code (fenced blocks, and inline spans that call or assign
 * something, such as `zDim = 3` or `pickHullPoints(points, labels)`) is type-checked under
 * tsconfig.json's settings as if it were a new cell at the end of that notebook: a virtual file
 * next to the notebook holds the notebook's code cells in order, then the suggestion (its imports
 * at the top level, the rest in a block of its own, so it may reuse a name as a new cell may).
 * Only the suggestion's own errors count: a name the notebook never declares or imports, a
 * function ../lib does not export, a wrong argument.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';
import { readNotebook, sourceText } from '../../tools/ipynb';

const ROOT = path.join(__dirname, '..', '..');
const NOTEBOOKS = path.join(ROOT, 'notebooks');
const CHAPTERS = fs
  .readdirSync(NOTEBOOKS)
  .filter((name) => /^0[1-9].*\.ipynb$/.test(name))
  .sort();

/** One suggestion to check: where it comes from and its code. */
interface Suggestion {
  notebook: string;
  code: string;
  /** 'block' for a fenced block, 'inline' for a `span` in the prose. */
  kind: 'block' | 'inline';
}

/** The heading of "Try next", in the English edition and the Korean one (더 해 보기). */
const TRY_NEXT = /^## (Try next|더 해 보기)\s*$/m;

/** The text of a notebook's "Try next" section: from its heading to the next heading of the same level or above. */
export function tryNextSection(notebookFile: string): string | undefined {
  const markdown = readNotebook(notebookFile)
    .cells.filter((cell) => cell.cell_type === 'markdown')
    .map((cell) => sourceText(cell.source))
    .join('\n\n');
  const start = markdown.search(TRY_NEXT);
  if (start < 0) return undefined;
  const rest = markdown.slice(start).replace(TRY_NEXT, '');
  const end = rest.search(/^#{1,2} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** An inline span is code to run when it calls or assigns something (and is not a shell command). */
function isRunnableInline(span: string): boolean {
  return /[(=]/.test(span) && !/^(npm|npx|node|git) /.test(span);
}

/** The fenced TypeScript blocks and runnable inline spans of a "Try next" section. */
export function suggestionsIn(section: string, notebook: string): Suggestion[] {
  const blocks = [...section.matchAll(/```(?:ts|typescript)?[^\n]*\n([\s\S]*?)```/g)].map((match) => match[1]);
  const prose = section.replace(/```[\s\S]*?```/g, '');
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]).filter(isRunnableInline);
  return [
    ...blocks.map((code) => ({ notebook, code, kind: 'block' as const })),
    ...spans.map((code) => ({ notebook, code, kind: 'inline' as const })),
  ];
}

/** The notebook's code cells, then the suggestion: returns the file's text and where the suggestion starts. */
function virtualCell(notebookFile: string, code: string): { text: string; start: number } {
  const cells = readNotebook(notebookFile)
    .cells.filter((cell) => cell.cell_type === 'code')
    .map((cell) => sourceText(cell.source));
  const lines = code.split('\n');
  const imports = lines.filter((line) => /^\s*import\s/.test(line));
  const body = lines.filter((line) => !/^\s*import\s/.test(line));
  const before = `${cells.join('\n;\n')}\n;\n// --- the suggestion ---\n`;
  return { text: `${before}${imports.join('\n')}\n{\n${body.join('\n')}\n}\n`, start: before.length };
}

/** The type errors of each suggestion (in the suggestion itself), compiled as one program. */
export function checkSuggestions(suggestions: Suggestion[]): string[][] {
  const configFile = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const virtual = new Map<string, { text: string; start: number }>();
  const fileNames = suggestions.map((suggestion, i) => {
    const file = path.join(NOTEBOOKS, `__try_next_${i}__.ts`);
    virtual.set(file, virtualCell(path.join(NOTEBOOKS, suggestion.notebook), suggestion.code));
    return file;
  });
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (file, languageVersion, ...rest) => {
    const held = virtual.get(file);
    return held
      ? ts.createSourceFile(file, held.text, languageVersion)
      : getSourceFile.call(host, file, languageVersion, ...rest);
  };
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file);
  host.readFile = (file) => virtual.get(file)?.text ?? readFile.call(host, file);
  const program = ts.createProgram(fileNames, options, host);
  return fileNames.map((file) => {
    const source = program.getSourceFile(file) as ts.SourceFile;
    const { start } = virtual.get(file) as { start: number };
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      .filter((diagnostic) => (diagnostic.start ?? 0) >= start)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
  });
}

describe('"Try next" suggestions type-check against their notebook', () => {
  const suggestions = CHAPTERS.flatMap((name) => {
    const section = tryNextSection(path.join(NOTEBOOKS, name));
    return section === undefined ? [] : suggestionsIn(section, name);
  });
  // The check as it must catch it: 04's old suggestion named a function ../lib does not export.
  const knownBad: Suggestion = {
    notebook: '04-latent-space.ipynb',
    code: 'pickHullPoints(points, labels)',
    kind: 'inline',
  };
  const errors = checkSuggestions([...suggestions, knownBad]);

  it('every chapter has a "Try next" section with code to check', () => {
    for (const name of CHAPTERS) {
      const section = tryNextSection(path.join(NOTEBOOKS, name));
      assert.ok(section, `${name} has no "## Try next" section`);
      assert.ok(suggestionsIn(section, name).length > 0, `${name}: no code found in its "Try next"`);
    }
  });

  it("a suggestion that calls a function ../lib does not export fails (04's old `pickHullPoints`)", () => {
    const found = errors[errors.length - 1];
    assert.ok(
      found.some((message) => message.includes("Cannot find name 'pickHullPoints'")),
      `expected "Cannot find name 'pickHullPoints'", got: ${found.join('; ') || 'no error'}`,
    );
  });

  for (const [i, suggestion] of suggestions.entries()) {
    const shown = suggestion.code.length > 60 ? `${suggestion.code.slice(0, 57)}...` : suggestion.code;
    it(`${suggestion.notebook}: ${suggestion.kind} \`${shown.replace(/\n/g, ' ')}\``, () => {
      assert.deepEqual(
        errors[i],
        [],
        `notebooks/${suggestion.notebook}, "Try next": this code does not type-check as a new cell at the end ` +
          `of the notebook:\n${suggestion.code}\n${errors[i].join('\n')}`,
      );
    });
  }
});
