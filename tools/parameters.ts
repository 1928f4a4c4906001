/**
 * Notebook parameters, the papermill way: one code cell tagged `parameters` declares the
 * settings with `let`; a run overrides them by inserting a cell tagged `injected-parameters`
 * right after it that assigns the new values. The executed notebook then shows what ran.
 */
import * as ts from 'typescript';
import { randomUUID } from 'crypto';
import { cellTags, sourceLines, sourceText, type Notebook, type NotebookCell } from './ipynb';

export const PARAMETERS_TAG = 'parameters';
export const INJECTED_TAG = 'injected-parameters';

/** A JSON value: what a profile or `--set` can assign to a parameter. */
export type ParameterValue = string | number | boolean | null | ParameterValue[] | { [key: string]: ParameterValue };
export type ParameterValues = Record<string, ParameterValue>;

/** Where an override came from, for the printed report: a profile name, or "--set". */
export interface ParameterOverride {
  value: ParameterValue;
  origin: string;
}

export interface DeclaredParameter {
  name: string;
  /** `let` can be overridden; `const` and `var` are reported as errors. */
  keyword: 'let' | 'const' | 'var';
  /** The type of the initializer when it is a plain literal, used to check overrides early. */
  literalType?: 'number' | 'string' | 'boolean';
  /** The declaration as written, e.g. `let iterations = 2001`. */
  text: string;
}

export class NotebookParameterError extends Error {
  override readonly name = 'NotebookParameterError';
}

/** The index of the one code cell tagged `parameters`; throws if there is none or several. */
export function findParametersCell(notebook: Notebook, notebookPath: string): number {
  const indices = notebook.cells
    .map((cell, index) => ({ cell, index }))
    .filter(({ cell }) => cell.cell_type === 'code' && cellTags(cell).includes(PARAMETERS_TAG))
    .map(({ index }) => index);
  if (indices.length !== 1) {
    throw new NotebookParameterError(
      `${notebookPath}: expected exactly one code cell tagged "${PARAMETERS_TAG}" (cell metadata "tags"), ` +
        (indices.length === 0
          ? 'found none. Add the tag to the cell that declares the settings ' +
            '(JupyterLab: Property Inspector > Cell Tags).'
          : `found ${indices.length} (cells ${indices.map((index) => index + 1).join(', ')}). Merge them into one.`),
    );
  }
  return indices[0];
}

function literalTypeOf(initializer: ts.Expression | undefined): DeclaredParameter['literalType'] {
  if (!initializer) return undefined;
  let expression = initializer;
  if (ts.isPrefixUnaryExpression(expression) && expression.operator === ts.SyntaxKind.MinusToken) {
    expression = expression.operand;
  }
  if (ts.isNumericLiteral(expression)) return 'number';
  if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return 'string';
  if (expression.kind === ts.SyntaxKind.TrueKeyword || expression.kind === ts.SyntaxKind.FalseKeyword) return 'boolean';
  return undefined;
}

/** The variables a parameters cell declares at its top level, in order. */
export function declaredParameters(source: string): DeclaredParameter[] {
  const file = ts.createSourceFile('parameters.ts', source, ts.ScriptTarget.ES2022, true);
  const declared: DeclaredParameter[] = [];
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const flags = statement.declarationList.flags;
    const keyword = flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var';
    for (const declaration of statement.declarationList.declarations) {
      // Destructuring declares no single name to assign; such names are not parameters.
      if (!ts.isIdentifier(declaration.name)) continue;
      declared.push({
        name: declaration.name.text,
        keyword,
        literalType: literalTypeOf(declaration.initializer),
        text: `${keyword} ${declaration.getText(file)}`,
      });
    }
  }
  return declared;
}

function describeValue(value: ParameterValue): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** The TypeScript that assigns the overrides, one line each (JSON is a valid TS literal). */
export function assignmentSource(overrides: Record<string, ParameterOverride>): string {
  return Object.entries(overrides)
    .map(([name, { value }]) => `${name} = ${JSON.stringify(value)};`)
    .join('\n');
}

export interface InjectionResult {
  notebook: Notebook;
  /** 0-based index of the parameters cell. */
  parametersIndex: number;
  /** 0-based index of the injected cell, or undefined when nothing was overridden. */
  injectedIndex?: number;
  /** The injected cell's assignments (empty when nothing was overridden). */
  injectedSource: string;
}

/**
 * Checks each override against the parameters cell and returns a copy of the notebook with an
 * `injected-parameters` cell right after it (any earlier injected cell is dropped first).
 * Throws a NotebookParameterError naming the notebook and the parameter for an unknown name,
 * a `const` parameter, or a value of the wrong type.
 */
export function injectParameters(
  notebook: Notebook,
  overrides: Record<string, ParameterOverride>,
  notebookPath: string,
): InjectionResult {
  const cells = notebook.cells.filter((cell) => !cellTags(cell).includes(INJECTED_TAG));
  const copy: Notebook = { ...notebook, cells };
  const parametersIndex = findParametersCell(copy, notebookPath);
  const declared = declaredParameters(sourceText(cells[parametersIndex].source));
  const byName = new Map(declared.map((parameter) => [parameter.name, parameter]));
  for (const [name, { value, origin }] of Object.entries(overrides)) {
    const parameter = byName.get(name);
    if (!parameter) {
      throw new NotebookParameterError(
        `${notebookPath}: unknown parameter "${name}" (from ${origin}). ` +
          `The parameters cell (cell ${parametersIndex + 1}) declares ` +
          `${declared.length ? declared.map((p) => p.name).join(', ') : 'no variables'}.`,
      );
    }
    if (parameter.keyword !== 'let') {
      throw new NotebookParameterError(
        `${notebookPath}: parameter "${name}" is declared with ${parameter.keyword} (\`${parameter.text}\`), ` +
          'so it cannot be overridden. Declare it with let in the parameters cell.',
      );
    }
    if (parameter.literalType && describeValue(value) !== parameter.literalType) {
      throw new NotebookParameterError(
        `${notebookPath}: parameter "${name}" (from ${origin}) ` +
          `must be a ${parameter.literalType} like its declaration \`${parameter.text}\`, ` +
          `found ${describeValue(value)} ${JSON.stringify(value)}.`,
      );
    }
  }
  if (Object.keys(overrides).length === 0) {
    return { notebook: copy, parametersIndex, injectedSource: '' };
  }
  const injectedSource = assignmentSource(overrides);
  const origins = [...new Set(Object.values(overrides).map((override) => override.origin))].join(', ');
  const injected: NotebookCell = {
    cell_type: 'code',
    id: randomUUID().slice(0, 8),
    metadata: { tags: [INJECTED_TAG] },
    execution_count: null,
    outputs: [],
    // A block: the cell's last statement is then not an expression, so tslab prints no value.
    source: sourceLines(
      `// Injected by the notebook runner (${origins}): overrides the parameters above.\n` +
        `{\n${injectedSource.replace(/^/gm, '  ')}\n}`,
    ),
  };
  copy.cells = [...cells.slice(0, parametersIndex + 1), injected, ...cells.slice(parametersIndex + 1)];
  return { notebook: copy, parametersIndex, injectedIndex: parametersIndex + 1, injectedSource };
}

/**
 * Parses a command-line `--set` argument: `name=value` for every notebook that declares
 * `name`, or `notebook.ipynb:name=value` for one notebook. The value is JSON when it parses
 * as JSON (50, true, "text"), else the plain string.
 */
export function parseSetArgument(argument: string): { notebook?: string; name: string; value: ParameterValue } {
  const match = /^(?:([^:=]+\.ipynb):)?([A-Za-z_$][\w$]*)=(.*)$/s.exec(argument);
  if (!match) {
    throw new NotebookParameterError(
      `--set expects name=value or notebook.ipynb:name=value (e.g. --set iterations=50), found "${argument}".`,
    );
  }
  const [, notebook, name, raw] = match;
  let value: ParameterValue;
  try {
    value = JSON.parse(raw) as ParameterValue;
  } catch {
    value = raw;
  }
  return { notebook, name, value };
}
