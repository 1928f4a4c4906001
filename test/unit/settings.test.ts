/**
 * Settings are checked where they are declared. checkSettings (lib/settings.ts) turns a bad value
 * into one line naming the setting, the value and what is allowed; each chapter calls it in the
 * cell right after its imports, on every setting of its parameters cell, before anything is built.
 * The chapters' own check cells run here with each setting set to a value that makes no sense
 * (-1), without a kernel: the parameters cell, the override and the check cell, as the runner's
 * `--set` would run them. test/notebooks/settings.test.ts runs one bad value per chapter in a kernel.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';
import { checkSettings, describeRule, SettingError } from '../../lib/settings';
import { readNotebook, runCellSource, sourceText } from '../../tools/ipynb';
import { declaredParameters, findParametersCell } from '../../tools/parameters';

const NOTEBOOKS = path.join(__dirname, '..', '..', 'notebooks');
const CHAPTERS = fs
  .readdirSync(NOTEBOOKS)
  .filter((name) => /^0[1-9].*\.ipynb$/.test(name))
  .sort();

/** The message checkSettings throws, or undefined when it does not throw. */
function messageOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof SettingError, `expected a SettingError, got ${String(error)}`);
    return error.message;
  }
}

describe('checkSettings', () => {
  it('accepts values inside their rules and returns nothing', () => {
    assert.equal(
      checkSettings({
        batchSize: { value: 32, min: 1 },
        learningRate: { value: 0.0005, type: 'number', above: 0 },
        walkFrom: { value: 9, min: 0, max: 9 },
        reuseTrained: { value: false, type: 'boolean' },
      }),
      undefined,
    );
  });

  it('gives one line naming the setting, its value and what is allowed', () => {
    assert.equal(
      messageOf(() => checkSettings({ batchSize: { value: 0, min: 1 } })),
      'batchSize = 0 is not allowed: it must be a whole number of at least 1. Change it in the parameters cell.',
    );
    assert.equal(
      messageOf(() => checkSettings({ batchSize: { value: 20000, min: 1, max: 1024, why: 'the book uses 32' } })),
      'batchSize = 20000 is not allowed: it must be a whole number from 1 to 1,024 (the book uses 32). ' +
        'Change it in the parameters cell.',
    );
    assert.equal(
      messageOf(() => checkSettings({ learningRate: { value: 0, type: 'number', above: 0 } })),
      'learningRate = 0 is not allowed: it must be a number above 0. Change it in the parameters cell.',
    );
  });

  it('refuses fractions for whole numbers, NaN and infinities for numbers, and other types', () => {
    const refused: [string, Parameters<typeof checkSettings>[0][string]][] = [
      ['epochs', { value: 2.5, min: 1 }],
      ['epochs', { value: Number.NaN, min: 1 }],
      ['learningRate', { value: Number.POSITIVE_INFINITY, type: 'number', above: 0 }],
      ['epochs', { value: '10', min: 1 }],
      ['reuseTrained', { value: 1, type: 'boolean' }],
      ['walkTo', { value: 10, min: 0, max: 9 }],
      ['seed', { value: -1, min: 0 }],
    ];
    for (const [name, rule] of refused) {
      const message = messageOf(() => checkSettings({ [name]: rule }));
      assert.ok(message?.startsWith(`${name} = `), `${name} = ${String(rule.value)} passed: ${message}`);
      assert.equal(message?.split('\n').length, 1);
    }
  });

  it('names every bad setting, one line each, and only those', () => {
    const message = messageOf(() =>
      checkSettings({
        iterations: { value: 0, min: 1 },
        batchSize: { value: 32, min: 1 },
        noiseDim: { value: -3, min: 1 },
      }),
    );
    const lines = (message ?? '').split('\n');
    assert.deepEqual(
      lines.map((line) => line.split(' ')[0]),
      ['iterations', 'noiseDim'],
    );
  });

  it('describes rules in words', () => {
    assert.equal(describeRule({ value: 0 }), 'a whole number');
    assert.equal(describeRule({ value: 0, max: 9 }), 'a whole number of at most 9');
    assert.equal(describeRule({ value: 0, type: 'number', min: 0, above: 0 }), 'a number of at least 0 and above 0');
    assert.equal(describeRule({ value: 0, type: 'boolean' }), 'true or false');
  });

  it('shows the message alone, not a stack into lib/settings.ts', () => {
    const error = new SettingError('zDim = 0 is not allowed');
    assert.equal(error.stack, 'SettingError: zDim = 0 is not allowed');
    assert.throws(() => checkSettings({}), /give at least one setting/);
  });
});

/** The code cell that calls checkSettings, its index, and the names it checks with the identifier given as value. */
function checkCell(notebookFile: string): { index: number; source: string; checked: Map<string, string> } {
  const cells = readNotebook(notebookFile).cells;
  const found = cells
    .map((cell, index) => ({ cell, index, source: sourceText(cell.source) }))
    .filter(({ cell, source }) => cell.cell_type === 'code' && /\bcheckSettings\(/.test(source));
  assert.equal(found.length, 1, `${notebookFile}: expected one code cell calling checkSettings, found ${found.length}`);
  const { index, source } = found[0];
  const checked = new Map<string, string>();
  const file = ts.createSourceFile('check.ts', source, ts.ScriptTarget.ES2022, true);
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.getText(file) === 'checkSettings') {
      const [rules] = node.arguments;
      assert.ok(rules && ts.isObjectLiteralExpression(rules), `${notebookFile}: checkSettings takes an object literal`);
      for (const property of rules.properties) {
        assert.ok(ts.isPropertyAssignment(property) && ts.isObjectLiteralExpression(property.initializer));
        const value = property.initializer.properties.find(
          (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(file) === 'value',
        );
        checked.set(property.name.getText(file), value?.initializer.getText(file) ?? '');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { index, source, checked };
}

describe("each chapter checks its parameters cell's settings before anything is built", () => {
  for (const name of CHAPTERS) {
    const file = path.join(NOTEBOOKS, name);

    it(`${name}: the cell after the imports checks every setting of the parameters cell`, () => {
      const notebook = readNotebook(file);
      const parametersIndex = findParametersCell(notebook, name);
      const settings = declaredParameters(sourceText(notebook.cells[parametersIndex].source)).map((p) => p.name);
      const { index, checked } = checkCell(file);
      const codeCells = notebook.cells
        .map((cell, i) => ({ cell, i }))
        .filter(({ cell }) => cell.cell_type === 'code')
        .map(({ i }) => i);
      // parameters, imports, check: nothing is loaded, built or trained before the check.
      const position = codeCells.indexOf(index) - codeCells.indexOf(parametersIndex);
      assert.equal(position, 2, `${name}: the check cell should be the second code cell after the parameters cell`);
      assert.match(sourceText(notebook.cells[codeCells[codeCells.indexOf(index) - 1]].source), /from '\.\.\/lib'/);
      assert.deepEqual([...checked.keys()].sort(), [...settings].sort(), `${name}: checked settings`);
      for (const [setting, value] of checked) assert.equal(value, setting, `${name}: ${setting} checks its own value`);
    });

    it(`${name}: its settings pass as committed, and each set to -1 stops the check with one line naming it`, () => {
      const notebook = readNotebook(file);
      const parameters = sourceText(notebook.cells[findParametersCell(notebook, name)].source);
      const { source } = checkCell(file);
      const run = (override: string) => () =>
        runCellSource(`${parameters}\n${override}\n${source}`, { checkSettings: checkSettings });
      assert.equal(messageOf(run('')), undefined, `${name}: the committed settings pass`);
      for (const { name: setting } of declaredParameters(parameters)) {
        const message = messageOf(run(`${setting} = -1 as never;`));
        assert.ok(message, `${name}: ${setting} = -1 passed the check`);
        assert.match(message, new RegExp(`^${setting} = -1 is not allowed: it must be .+\\.`));
        assert.equal(message.split('\n').length, 1);
      }
    });
  }
});

/** The values issue 23 tried, one at a time: each must stop the chapter's check cell with one line naming it. */
const ISSUE_EXAMPLES: [string, string, string][] = [
  ['01-dcgan.ipynb', 'batchSize', '0'],
  ['01-dcgan.ipynb', 'batchSize', '-4'],
  ['01-dcgan.ipynb', 'batchSize', '20000'],
  ['01-dcgan.ipynb', 'noiseDim', '0'],
  ['01-dcgan.ipynb', 'sampleInterval', '0'],
  ['03-dense-autoencoder.ipynb', 'zDim', '-3'],
  ['04-latent-space.ipynb', 'zDim', '0'],
  ['05-vae.ipynb', 'learningRate', '0'],
  ['02-conv-autoencoder.ipynb', 'epochs', '0'],
];

describe("the issue's bad values stop the chapters' check cells", () => {
  for (const [notebook, setting, value] of ISSUE_EXAMPLES) {
    it(`${notebook}: ${setting} = ${value}`, () => {
      const file = path.join(NOTEBOOKS, notebook);
      const parsed = readNotebook(file);
      const parameters = sourceText(parsed.cells[findParametersCell(parsed, notebook)].source);
      const { source } = checkCell(file);
      const message = messageOf(() =>
        runCellSource(`${parameters}\n${setting} = ${value};\n${source}`, { checkSettings: checkSettings }),
      );
      assert.match(message ?? 'passed', new RegExp(`^${setting} = ${value} is not allowed: it must be .+\\.`));
    });
  }
});
