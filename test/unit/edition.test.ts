/**
 * The Korean edition is the English notebooks' code with Korean prose and comments (tools/edition.ts).
 * These tests hold the two editions together: every Korean notebook is what its English notebook and
 * translation give, its code cells are the English code token for token (comments aside), and each
 * kind of drift (edited code, a changed English cell, a missing or stale translation) is named.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  buildKorean,
  codeComments,
  codeDrift,
  editionOf,
  englishName,
  koreanName,
  notebookText,
  parseTranslation,
  readNotebook,
  readTranslation,
  REPO_ROOT,
  sourceText,
  textHash,
  translationFile,
  type Notebook,
} from '../../tools';

const NOTEBOOKS = path.join(REPO_ROOT, 'notebooks');
const english = fs
  .readdirSync(NOTEBOOKS)
  .filter((name) => name.endsWith('.ipynb') && editionOf(name) === 'en')
  .sort();
const HANGUL = /[\uac00-\ud7a3]/;

describe('the Korean edition', () => {
  it('has one Korean notebook and one translation per English notebook', () => {
    assert.equal(english.length, 6, english.join(', '));
    for (const name of english) {
      assert.ok(fs.existsSync(path.join(NOTEBOOKS, koreanName(name))), `notebooks/${koreanName(name)}`);
      assert.ok(
        fs.existsSync(translationFile(REPO_ROOT, name)),
        path.relative(REPO_ROOT, translationFile(REPO_ROOT, name)),
      );
    }
  });

  for (const name of english) {
    const korean = koreanName(name);
    it(`${korean} is what ${name} and its translation give (npm run edition), with nothing missing or stale`, () => {
      const file = path.relative(REPO_ROOT, translationFile(REPO_ROOT, name));
      const built = buildKorean(
        readNotebook(path.join(NOTEBOOKS, name)),
        name,
        readTranslation(path.join(REPO_ROOT, file)),
      );
      assert.deepEqual(built.problems, []);
      const committed = fs.readFileSync(path.join(NOTEBOOKS, korean), 'utf8');
      assert.ok(
        committed === notebookText(built.notebook),
        `notebooks/${korean} is not up to date: run npm run edition`,
      );
    });

    it(`${korean}: every code cell is the English code, comments aside (TypeScript's scanner)`, () => {
      const [en, ko] = [readNotebook(path.join(NOTEBOOKS, name)), readNotebook(path.join(NOTEBOOKS, korean))];
      assert.deepEqual(
        ko.cells.map((cell) => `${cell.cell_type} ${cell.id}`),
        en.cells.map((cell) => `${cell.cell_type} ${cell.id}`),
        'the same cells in the same order',
      );
      const drift = en.cells.flatMap((cell, i) =>
        cell.cell_type === 'code'
          ? [codeDrift(korean, cell.id ?? `#${i + 1}`, sourceText(cell.source), sourceText(ko.cells[i].source))]
          : [],
      );
      assert.deepEqual(
        drift.filter((line) => line !== undefined),
        [],
      );
      assert.deepEqual(
        ko.cells.map((cell) => cell.metadata),
        en.cells.map((cell) => cell.metadata),
        'the same tags (parameters, model, figure)',
      );
    });

    it(`${korean} is written in Korean: every markdown cell and every comment`, () => {
      const ko = readNotebook(path.join(NOTEBOOKS, korean));
      const untranslated = ko.cells.flatMap((cell) => {
        const text = sourceText(cell.source);
        if (cell.cell_type === 'markdown')
          return HANGUL.test(text) ? [] : [`markdown ${cell.id}: ${text.slice(0, 60)}`];
        // A comment that is only code or a number needs no Korean (e.g. "// 28x28").
        return codeComments(text)
          .filter((comment) => /[a-z]{3,}\s+[a-z]{3,}/i.test(comment.text) && !HANGUL.test(comment.text))
          .map((comment) => `code ${cell.id}: ${comment.text}`);
      });
      assert.deepEqual(untranslated, []);
    });
  }
});

describe('drift between the editions is caught and named', () => {
  const name = '01-dcgan.ipynb';
  const en = readNotebook(path.join(NOTEBOOKS, name));
  const translation = readTranslation(translationFile(REPO_ROOT, name));
  const codeIndex = en.cells.findIndex(
    (cell) => cell.cell_type === 'code' && codeComments(sourceText(cell.source)).length,
  );
  const codeCell = en.cells[codeIndex];

  it('a Korean code cell whose code (not comment) was edited names the notebook, the cell and the line', () => {
    const ko = readNotebook(path.join(NOTEBOOKS, koreanName(name)));
    const source = sourceText(ko.cells[codeIndex].source);
    const edited = source.replace(/\blet (\w+) = (\d+);/, 'let $1 = $2 + 1;');
    assert.notEqual(edited, source, 'the fixture edits a number');
    const drift = codeDrift(koreanName(name), codeCell.id!, sourceText(codeCell.source), edited);
    assert.match(drift ?? '', new RegExp(`^01-dcgan\\.ko\\.ipynb, code cell ${codeCell.id}: the code differs .*"\\+"`));
    // Comments alone may differ.
    const recommented = source.replace(/\/\/[^\n]*/g, '// 다른 주석');
    assert.equal(codeDrift(koreanName(name), codeCell.id!, sourceText(codeCell.source), recommented), undefined);
  });

  it('a code change in the English cell reaches the Korean cell by itself; a changed comment is named', () => {
    const changed: Notebook = structuredClone(en);
    const source = sourceText(changed.cells[codeIndex].source);
    changed.cells[codeIndex].source = source.replace(/\blet (\w+) = (\d+);/, 'let $1 = $2 * 2;');
    const built = buildKorean(changed, name, translation);
    assert.deepEqual(built.problems, []);
    assert.match(sourceText(built.notebook.cells[codeIndex].source), /\* 2;/);

    const comment = codeComments(source)[0].text;
    changed.cells[codeIndex].source = source.replace(comment, `${comment} (changed)`);
    const stale = buildKorean(changed, name, translation).problems;
    assert.ok(
      stale.some((line) => line.includes(`no Korean for the comment ${JSON.stringify(`${comment} (changed)`)}`)),
    );
    assert.ok(stale.some((line) => line.includes('is no longer in the English cell')));
  });

  it('a changed English markdown cell makes its translation stale, naming the cell and both hashes', () => {
    const changed: Notebook = structuredClone(en);
    const index = changed.cells.findIndex((cell) => cell.cell_type === 'markdown');
    const text = `${sourceText(changed.cells[index].source)}\nOne more sentence.`;
    changed.cells[index].source = text;
    const problems = buildKorean(changed, name, translation).problems;
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0], new RegExp(`cell ${changed.cells[index].id} .*changed since it was translated`));
    assert.ok(problems[0].includes(`now en:${textHash(text)}`));
  });

  it('a new English cell without a translation, and a translation of a removed cell, are named', () => {
    const changed: Notebook = structuredClone(en);
    changed.cells.push({ cell_type: 'markdown', id: 'new-cell', metadata: {}, source: 'New text.' });
    const removed = changed.cells.splice(1, 1)[0];
    const problems = buildKorean(changed, name, translation).problems;
    assert.ok(problems.some((line) => line.includes('cell new-cell') && line.includes('no Korean text')));
    assert.ok(problems.some((line) => line.includes(`cell ${removed.id} is not in ${name} any more`)));
  });

  it('a malformed translation file names the file and the line', () => {
    assert.throws(() => parseTranslation('ko.md', '<!-- markdown a1 -->\n텍스트\n'), /^Error: ko\.md:1: .*en:HASH/);
    assert.throws(
      () => parseTranslation('ko.md', '<!-- code c1 -->\n// English\nnot a comment\n'),
      /^Error: ko\.md:3: expected a one-line comment/,
    );
    assert.throws(() => parseTranslation('ko.md', '<!-- code c1 -->\n// only English\n'), /ko\.md:2: .*no Korean line/);
    assert.equal(englishName('01-dcgan.ko.ipynb'), '01-dcgan.ipynb');
  });
});
