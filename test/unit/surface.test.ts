/**
 * The library's public surface is what a learner needs: every name lib/index.ts exports is
 * imported by a notebook or named in the README, and every name a notebook imports from
 * '../lib' is exported there. Everything else stays in its module (`../lib/train`, ...).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const NOTEBOOKS = path.join(ROOT, 'notebooks');

/** Every name (value or type) that lib/index.ts exports, as the type checker sees them. */
function libraryExports(): string[] {
  const configFile = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const entry = path.join(ROOT, 'lib', 'index.ts');
  const program = ts.createProgram([entry], options);
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile);
  assert.ok(moduleSymbol, 'lib/index.ts has no module symbol');
  return checker.getExportsOfModule(moduleSymbol).map((symbol) => symbol.name);
}

/** name -> the notebooks that import it from '../lib', read from the import declarations of their code cells. */
function notebookImports(): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const file of fs
    .readdirSync(NOTEBOOKS)
    .filter((name) => name.endsWith('.ipynb'))
    .sort()) {
    const notebook = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS, file), 'utf8')) as {
      cells: { cell_type: string; source: string | string[] }[];
    };
    for (const cell of notebook.cells.filter((c) => c.cell_type === 'code')) {
      const code = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      const source = ts.createSourceFile(`${file}.ts`, code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
      for (const statement of source.statements) {
        if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
        if (statement.moduleSpecifier.text !== '../lib') continue;
        const bindings = statement.importClause?.namedBindings;
        if (!bindings || !ts.isNamedImports(bindings)) continue;
        for (const element of bindings.elements) {
          const name = (element.propertyName ?? element.name).text;
          imports.set(name, [...(imports.get(name) ?? []), file]);
        }
      }
    }
  }
  return imports;
}

/** The identifiers inside the README's code (fenced blocks and `inline` spans). */
function readmeCodeNames(): Set<string> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const fenced = [...readme.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((match) => match[1]);
  const inline = [...readme.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((match) => match[1]);
  return new Set([...fenced, ...inline].flatMap((code) => code.match(/[A-Za-z_$][\w$]*/g) ?? []));
}

describe('the public surface (lib/index.ts)', () => {
  const exported = libraryExports();
  const imported = notebookImports();

  it('exports only names a notebook imports or the README documents', () => {
    assert.ok(imported.size > 0, 'no notebook imports anything from ../lib: the parser missed the import cells');
    const documented = readmeCodeNames();
    const unused = exported.filter((name) => !imported.has(name) && !documented.has(name)).sort();
    assert.deepEqual(
      unused,
      [],
      `lib/index.ts exports ${unused.join(', ')}, which no notebook imports from '../lib' ` +
        'and the README does not name. Leave it to its module (import it from ../lib/train, ../lib/viz, ...), ' +
        'or use or document it.',
    );
  });

  it("exports every name the notebooks import from '../lib'", () => {
    const available = new Set(exported);
    const missing = [...imported]
      .filter(([name]) => !available.has(name))
      .map(([name, files]) => `${name} (${files.join(', ')})`);
    assert.deepEqual(missing, [], `the notebooks import names lib/index.ts does not export: ${missing.join('; ')}`);
  });
});
