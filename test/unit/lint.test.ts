/**
 * The lint rules the test command runs (eslint.config.mjs) catch what they promise: an import
 * cycle, an `any` without a reason, a line over 120 characters. Probe files are written to a
 * temporary folder inside the repository (so the project's config applies) and removed after.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = path.join(__dirname, '..', '..');
const PROBE_DIR = path.join(ROOT, `.lint-probe-${process.pid}`);

async function ruleIdsFor(files: Record<string, string>, lintFile: string): Promise<string[]> {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(PROBE_DIR, name), text);
  const [result] = await new ESLint({ cwd: ROOT }).lintFiles([path.join(PROBE_DIR, lintFile)]);
  return result.messages.map((message) => message.ruleId ?? `fatal: ${message.message}`);
}

describe('lint rules', () => {
  before(() => fs.mkdirSync(PROBE_DIR));
  after(() => fs.rmSync(PROBE_DIR, { recursive: true, force: true }));

  it('an import cycle is an error, a one-way import is not', async () => {
    const cycle = {
      'first.ts': "import { second } from './second';\nexport const first = (): number => second() + 1;\n",
      'second.ts': "import { first } from './first';\nexport const second = (): number => first() - 1;\n",
    };
    assert.deepEqual(await ruleIdsFor(cycle, 'first.ts'), ['import-x/no-cycle']);
    const oneWay = { ...cycle, 'second.ts': 'export const second = (): number => 1;\n' };
    assert.deepEqual(await ruleIdsFor(oneWay, 'first.ts'), []);
  });

  it('`any` needs a disable comment that says why', async () => {
    const anyProbe = [
      'export const bare: any = 1;',
      '// eslint-disable-next-line @typescript-eslint/no-explicit-any',
      'export const silenced: any = 2;',
      '// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the probe needs one',
      'export const explained: any = 3;',
      '',
    ].join('\n');
    assert.deepEqual(await ruleIdsFor({ 'any.ts': anyProbe }, 'any.ts'), [
      '@typescript-eslint/no-explicit-any',
      '@eslint-community/eslint-comments/require-description',
    ]);
  });

  it('lines longer than 120 characters are errors, in code, strings and comments', async () => {
    const long = 'x'.repeat(130);
    const probe = `// ${long}\nexport const text = '${long}';\nexport const fits = '${'y'.repeat(90)}';\n`;
    assert.deepEqual(await ruleIdsFor({ 'long.ts': probe }, 'long.ts'), ['@stylistic/max-len', '@stylistic/max-len']);
  });
});
