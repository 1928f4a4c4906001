/**
 * A Korean page is readable offline on a machine that has no Korean font: a fixture notebook with
 * Korean markdown, a Korean code comment and output, a static chart SVG and a live chart with Korean
 * titles is exported through scripts/run_notebooks.py (--export, the runner's own export path) and
 * opened in headless Chromium whose fontconfig knows only DejaVu (no Korean font at all). There:
 * no request leaves the machine; every Hangul character of the page's text, of the SVG pictures and
 * of the live chart draws with the font the page carries, not as tofu. Tofu is told by drawing:
 * a character whose pixels equal those of U+E000 (a private-use character no font here has) is a
 * missing glyph, and a control shows that without the embedded font Hangul is exactly that here.
 * Also: a page without Hangul gets no font, and a missing NanumGothic fails the page; and the runner
 * tells each kernel its notebook's path in JPY_SESSION_NAME, from which the library picks Korean.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { renderSvg, type ChartSpec } from '../../lib/viz/render';
import { CHROMIUM, offlineScriptPaths, openHeadlessChromium, REPO_ROOT, type HeadlessBrowser } from '../../tools';
import { remoteReferences } from './latentMapPage';

const OUT = path.join(REPO_ROOT, 'build', 'test', 'notebooks-korean');
const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
const SCREENSHOT = '/tmp/korean-html-test.png';
const EMBEDDED_FAMILY = 'Embedded Korean';
const HANGUL = /[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff]/g;

/** One notebook's text in both languages: the Korean page and a page with no Hangul. */
const TEXT = {
  ko: {
    markdown:
      '# 생성적 적대 신경망\n\n' +
      '생성자와 **판별자**, 두 네트워크가 서로 겨루며 배웁니다. 「잠재 공간」의 점 하나가 숫자 하나가 됩니다.\n\n' +
      '| 설정 | 값 |\n|---|---|\n| 학습률 | 0.0002 |\n| 배치 크기 | 64 |\n',
    code: '// 손실 곡선을 그린다: 세대마다 판별자와 생성자의 손실\nshowChart(lossChart(history));',
    stream: '세대 1/20: 판별자 손실 0.693, 생성자 손실 0.712\n',
    title: '세대별 손실',
    x: '세대',
    y: '손실',
    series: ['판별자', '생성자'],
    liveTitle: '잠재 공간 지도 (마우스를 올려 보세요)',
    progress: '20/20 세대 완료',
  },
  en: {
    markdown: '# Generative adversarial networks\n\nA generator and a **discriminator** learn against each other.\n',
    code: '// The loss curves: both losses per epoch\nshowChart(lossChart(history));',
    stream: 'epoch 1/20: discriminator loss 0.693, generator loss 0.712\n',
    title: 'Loss per epoch',
    x: 'epoch',
    y: 'loss',
    series: ['discriminator', 'generator'],
    liveTitle: 'Latent map (hover over it)',
    progress: '20/20 epochs done',
  },
};

/** An executed notebook (outputs written here, no kernel): markdown, a commented cell, a static and a live chart. */
async function fixtureNotebook(text: (typeof TEXT)['ko']): Promise<object> {
  const values = [1, 2, 3].flatMap((epoch) =>
    text.series.map((series, s) => ({ epoch, loss: 0.7 - 0.05 * epoch * (s + 1), series })),
  );
  const lossChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: text.title,
    width: 320,
    height: 160,
    data: { values },
    mark: 'line',
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: text.x },
      y: { field: 'loss', type: 'quantitative', title: text.y },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as ChartSpec;
  const liveChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: text.liveTitle,
    width: 240,
    height: 160,
    data: { values: values.map((row) => ({ ...row, z: row.loss * 2 })) },
    mark: 'point',
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: text.x },
      y: { field: 'z', type: 'quantitative', title: text.y },
      color: { field: 'series', type: 'nominal', title: text.series.join(' / ') },
    },
    // What latentMapChart writes: keep it interactive in the exported page, drawn on a canvas.
    usermeta: { htmlExport: 'interactive', embedOptions: { renderer: 'canvas' } },
  } as ChartSpec;
  const lines = (source: string) => source.split(/(?<=\n)/);
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' },
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
    },
    cells: [
      { cell_type: 'markdown', id: 'md', metadata: {}, source: lines(text.markdown) },
      {
        cell_type: 'code',
        id: 'chart',
        metadata: {},
        execution_count: 1,
        source: lines(text.code),
        outputs: [
          { output_type: 'stream', name: 'stdout', text: lines(text.stream) },
          // An HTML output with its own inline font, as the training monitor writes.
          {
            output_type: 'display_data',
            metadata: {},
            data: {
              'text/html':
                `<table><tr><th>${text.x}</th>` +
                `<td style="font-family:monospace">${text.progress}</td></tr></table>`,
              'text/plain': text.progress,
            },
          },
          {
            output_type: 'display_data',
            metadata: {},
            data: { 'image/svg+xml': await renderSvg(lossChart), 'text/plain': text.title },
          },
          {
            output_type: 'display_data',
            metadata: {},
            data: {
              'application/vnd.vegalite.v5+json': liveChart,
              'image/svg+xml': await renderSvg(liveChart),
              'text/plain': text.liveTitle,
            },
          },
        ],
      },
    ],
  };
}

/** scripts/run_notebooks.py --export: the runner's export of an executed notebook, without a kernel. */
async function exportPage(
  notebookPath: string,
  htmlPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stderr: string }> {
  const scripts = offlineScriptPaths().flatMap((script) => ['--offline-script', script]);
  const args = [path.join(REPO_ROOT, 'scripts', 'run_notebooks.py'), '--export', notebookPath, htmlPath, ...scripts];
  try {
    const { stderr } = await promisify(execFile)(PYTHON, args, { cwd: REPO_ROOT, env });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? 1, stderr: failed.stderr ?? String(error) };
  }
}

/** This machine's fontconfig minus every font that covers Korean: a reader's machine without a Korean font. */
function fontconfigWithoutKorean(dir: string): string {
  const file = path.join(dir, 'fonts.conf');
  fs.writeFileSync(
    file,
    '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n' +
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n' +
      '  <selectfont><rejectfont>\n' +
      '    <pattern><patelt name="lang"><string>ko</string></patelt></pattern>\n' +
      '  </rejectfont></selectfont>\n' +
      `  <cachedir>${path.join(dir, 'fontconfig-cache')}</cachedir>\n</fontconfig>\n`,
  );
  return file;
}

// In-page helpers (plain JavaScript: this project's tsconfig has no "dom" lib). probe.tofu(font, text)
// lists the characters of `text` that draw, in that canvas font, exactly like U+E000 (or not at all):
// missing glyphs. probe.svgTofu(prelude, family, weight, text) does the same inside an SVG picture
// (an <img>, as the page shows charts) that starts with `prelude` (the chart's own <style>).
const PROBE = String.raw`
window.probe = (function () {
  var size = 64;
  var canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  var ctx = canvas.getContext('2d', { willReadFrequently: true });
  function same(a, b) {
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function inked(a) {
    for (var i = 3; i < a.length; i += 4) if (a[i] !== 0) return true;
    return false;
  }
  function drawText(font, character) {
    ctx.clearRect(0, 0, size, size);
    ctx.font = font;
    ctx.fillStyle = '#000';
    ctx.fillText(character, 8, 44);
    return ctx.getImageData(0, 0, size, size).data;
  }
  function escapeXml(text) {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  async function drawSvg(prelude, family, weight, character) {
    var svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="' + size + '" height="' + size + '">' + prelude +
      '<text x="8" y="44" font-size="32" font-weight="' + escapeXml(weight) + '" font-family="' +
      escapeXml(family) + '">' + escapeXml(character) + '</text></svg>';
    var image = new Image();
    image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
    await image.decode();
    ctx.clearRect(0, 0, size, size);
    ctx.drawImage(image, 0, 0);
    return ctx.getImageData(0, 0, size, size).data;
  }
  function tofu(font, text) {
    var missing = drawText(font, '\ue000');
    return Array.from(new Set(text)).filter(function (character) {
      var drawn = drawText(font, character);
      return !inked(drawn) || same(drawn, missing);
    });
  }
  async function svgTofu(prelude, family, weight, text) {
    var missing = await drawSvg(prelude, family, weight, '\ue000');
    var found = [];
    for (var character of new Set(text)) {
      var drawn = await drawSvg(prelude, family, weight, character);
      if (!inked(drawn) || same(drawn, missing)) found.push(character);
    }
    return found;
  }
  return { tofu: tofu, svgTofu: svgTofu };
})();
`;

interface TextRun {
  /** The canvas font of the element that holds the text (its style, weight and family; size 32px). */
  font: string;
  family: string;
  text: string;
}
interface SvgText {
  prelude: string;
  family: string;
  weight: string;
  text: string;
}

/** Every run of Hangul text in the page's DOM, with its element's font. */
async function pageTextRuns(page: Page): Promise<TextRun[]> {
  return page.evaluate(`(function () {
    var runs = [];
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var element = node.parentElement;
      if (!element || element.closest('script, style')) continue;
      var hangul = node.textContent.match(${HANGUL});
      if (!hangul) continue;
      var style = getComputedStyle(element);
      runs.push({
        font: style.fontStyle + ' ' + style.fontWeight + ' 32px ' + style.fontFamily,
        family: style.fontFamily,
        text: hangul.join(''),
      });
    }
    return runs;
  })()`);
}

/** Every text element with Hangul in the SVG pictures of the page, with its font and the SVG's <style>. */
async function svgPictureTexts(page: Page): Promise<SvgText[]> {
  return page.evaluate(`(function () {
    var texts = [];
    document.querySelectorAll('img[src^="data:image/svg+xml;base64,"]').forEach(function (image) {
      var base64 = image.getAttribute('src').slice('data:image/svg+xml;base64,'.length);
      var bytes = Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); });
      var svg = new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'image/svg+xml');
      var prelude = Array.from(svg.querySelectorAll('style'), function (style) { return style.outerHTML; }).join('');
      svg.querySelectorAll('text').forEach(function (text) {
        var hangul = text.textContent.match(${HANGUL});
        if (!hangul) return;
        var withFamily = text.closest('[font-family]');
        var withWeight = text.closest('[font-weight]');
        texts.push({
          prelude: prelude,
          family: withFamily ? withFamily.getAttribute('font-family') : 'serif',
          weight: withWeight ? withWeight.getAttribute('font-weight') : 'normal',
          text: hangul.join(''),
        });
      });
    });
    return texts;
  })()`);
}

/** The text items of the live chart's scenegraph (titles, axes, legend) with Hangul, and their fonts. */
async function liveChartTexts(page: Page): Promise<TextRun[]> {
  return page.evaluate(`(function () {
    var runs = [];
    function visit(node) {
      if (node.marktype === 'text') {
        (node.items || []).forEach(function (item) {
          var text = [].concat(item.text == null ? [] : item.text).join(' ');
          var hangul = text.match(${HANGUL});
          if (!hangul) return;
          var family = item.font || 'sans-serif';
          runs.push({ font: (item.fontWeight || 'normal') + ' 32px ' + family, family: family, text: hangul.join('') });
        });
      }
      (node.items || []).forEach(visit);
    }
    visit(document.querySelector('.gan-live-chart').vegaView.scenegraph().root);
    return runs;
  })()`);
}

describe(
  'a Korean exported page in headless Chromium, on a machine without Korean fonts',
  { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing (npm test's set-up installs it)` },
  () => {
    const koreanHtml = path.join(OUT, 'korean.ko.html');
    const englishHtml = path.join(OUT, 'english.html');
    const missingFontHtml = path.join(OUT, 'missing-font.ko.html');
    let html: string;
    let browser: HeadlessBrowser | undefined;
    let page: Page;
    const requested: string[] = [];
    let missingFont: { code: number; stderr: string };

    before(async () => {
      fs.rmSync(OUT, { recursive: true, force: true });
      fs.mkdirSync(OUT, { recursive: true });
      const korean = path.join(OUT, 'korean.ko.ipynb');
      const english = path.join(OUT, 'english.ipynb');
      fs.writeFileSync(korean, JSON.stringify(await fixtureNotebook(TEXT.ko), null, 1));
      fs.writeFileSync(english, JSON.stringify(await fixtureNotebook(TEXT.en), null, 1));
      const nowhere = { ...process.env, GAN_NOTEBOOKS_KOREAN_FONT: path.join(OUT, 'nowhere', 'NanumGothic.ttf') };
      const [ko, en, missing] = await Promise.all([
        exportPage(korean, koreanHtml),
        exportPage(english, englishHtml),
        exportPage(korean, missingFontHtml, nowhere),
      ]);
      assert.equal(ko.code, 0, ko.stderr);
      assert.equal(en.code, 0, en.stderr);
      missingFont = missing;
      html = fs.readFileSync(koreanHtml, 'utf8');
      const fonts = [...html.matchAll(/data:font\/\w+;base64,([A-Za-z0-9+/=]+)/g)].map((match) => match[1].length);
      const svgFonts = (html.match(/data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+/g) ?? [])
        .map((uri) => Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64').toString('utf8'))
        .filter((svg) => svg.includes('@font-face')).length;
      console.log(
        `Korean page: ${(html.length / 1024).toFixed(0)} KiB; ` +
          `its font ${(fonts[0] / 1024).toFixed(1)} KiB of base64, ` +
          `and ${svgFonts} chart SVG(s) with their own`,
      );
      browser = await openHeadlessChromium(
        { width: 1000, height: 1200 },
        { env: { ...process.env, FONTCONFIG_FILE: fontconfigWithoutKorean(OUT) } },
      );
      page = browser.page;
      page.on('request', (request) => {
        requested.push(request.url());
      });
      await page.goto(`file://${koreanHtml}`, { waitUntil: 'load' });
      await page.waitForSelector('.gan-live-chart[data-live="ready"]', { timeout: 10_000 });
      await page.evaluate('document.fonts.ready.then(function () { return true; })');
      await page.evaluate(PROBE);
    });

    after(async () => {
      await browser?.close();
    });

    it('the page names nothing off the machine, and opening it requests nothing off the machine', () => {
      assert.deepEqual(remoteReferences(html), []);
      assert.deepEqual(browser?.blocked, [], 'no request was refused, because none went off the machine');
      const remote = requested.filter((url) => !/^(file|data|blob):/.test(url));
      assert.deepEqual(remote, [], 'only file:, data: and blob: requests');
      assert.ok(requested.length > 0, 'the listener saw the page load');
    });

    it('this browser has no Korean font: Hangul without the embedded one draws as tofu (the control)', async () => {
      // Were a system Korean font reachable, every check below would pass with or without the embedding.
      const tofu = await page.evaluate(`probe.tofu('32px "DejaVu Sans", sans-serif', '생성자손실')`);
      assert.deepEqual(tofu, ['생', '성', '자', '손', '실'], 'Hangul in DejaVu alone is tofu here');
      const inSvg = await page.evaluate(`probe.svgTofu('', 'sans-serif', 'normal', '세대')`);
      assert.deepEqual(inSvg, ['세', '대'], 'an SVG picture without its own font shows tofu here');
    });

    it("every Hangul character of the page's text draws with the embedded font, not as tofu", async () => {
      const runs = await pageTextRuns(page);
      const characters = new Set(runs.flatMap((run) => [...run.text]));
      assert.ok(characters.size >= 40, `the fixture's text has Hangul (${characters.size} characters)`);
      for (const where of ['생성적', '판별자', '학습률', '손실 곡선을', '세대 1/20', '세대 완료']) {
        const word = where.replace(/[^\uac00-\ud7a3]/g, '');
        assert.ok(
          runs.some((run) => run.text.includes(word)),
          `the page shows "${where}" (markdown, table, code comment, output)`,
        );
      }
      const problems: string[] = [];
      for (const run of runs) {
        if (!run.family.startsWith(`"${EMBEDDED_FAMILY}"`)) problems.push(`${run.text}: font-family ${run.family}`);
        const tofu = (await page.evaluate(
          `probe.tofu(${JSON.stringify(run.font)}, ${JSON.stringify(run.text)})`,
        )) as string[];
        if (tofu.length) problems.push(`tofu in ${run.font}: ${tofu.join('')}`);
      }
      assert.deepEqual(problems, []);
    });

    it('the Korean text inside the chart SVG pictures draws with the font each picture carries', async () => {
      const texts = await svgPictureTexts(page);
      const characters = new Set(texts.flatMap((text) => [...text.text]));
      for (const word of [TEXT.ko.title, TEXT.ko.x, ...TEXT.ko.series]) {
        assert.ok(
          texts.some((text) => text.text === word.replace(/[^\uac00-\ud7a3]/g, '')),
          `an SVG shows "${word}"`,
        );
      }
      assert.ok(characters.size >= 8, `the SVG pictures have Hangul (${characters.size} characters)`);
      const problems: string[] = [];
      for (const text of texts) {
        const args = [text.prelude, text.family, text.weight, text.text].map((arg) => JSON.stringify(arg)).join(', ');
        const tofu = (await page.evaluate(`probe.svgTofu(${args})`)) as string[];
        if (tofu.length) problems.push(`tofu in an SVG (font-family ${text.family}): ${tofu.join('')}`);
      }
      assert.deepEqual(problems, []);
    });

    it('the live chart draws its Korean titles and labels with the embedded font', async () => {
      const runs = await liveChartTexts(page);
      assert.ok(
        runs.some((run) => run.text === TEXT.ko.liveTitle.replace(/[^\uac00-\ud7a3]/g, '')),
        'the title is drawn',
      );
      const problems: string[] = [];
      for (const run of runs) {
        if (!run.family.startsWith(`"${EMBEDDED_FAMILY}"`)) problems.push(`${run.text}: font ${run.family}`);
        const tofu = (await page.evaluate(
          `probe.tofu(${JSON.stringify(run.font)}, ${JSON.stringify(run.text)})`,
        )) as string[];
        if (tofu.length) problems.push(`tofu in ${run.font}: ${tofu.join('')}`);
      }
      assert.deepEqual(problems, []);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`screenshot of the Korean page without system Korean fonts: ${SCREENSHOT}`);
    });

    it('a page without Hangul carries no font; a missing NanumGothic fails the page and names the fix', () => {
      const english = fs.readFileSync(englishHtml, 'utf8');
      const fontTraces = english.match(/id="gan-korean-font"|@font-face|data:font\//g) ?? [];
      assert.deepEqual(fontTraces, [], 'the English page has no embedded font');
      assert.equal(missingFont.code, 1, missingFont.stderr);
      assert.match(missingFont.stderr, /Korean font NanumGothic is missing/);
      assert.match(missingFont.stderr, /bash scripts\/setup\.sh.*fonts-nanum/);
      assert.ok(!fs.existsSync(missingFontHtml), 'no page written without its font');
    });
  },
);

describe('the runner tells each kernel its notebook, as JupyterLab does', () => {
  it("JPY_SESSION_NAME is the notebook's absolute path, and a NAME.ko.ipynb draws in Korean", async () => {
    const dir = path.join(OUT, 'session-name');
    fs.mkdirSync(dir, { recursive: true });
    const source =
      "import { notebookLocale } from '../../../../lib/viz/locale';\n" +
      'console.log(JSON.stringify({ session: process.env.JPY_SESSION_NAME, locale: notebookLocale() }));';
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      cells: [{ cell_type: 'code', id: 'probe', metadata: {}, execution_count: null, source, outputs: [] }],
    };
    // The plan scripts/run-notebooks.ts sends (tools/runner.ts), for one notebook, straight to the executor.
    const plan = {
      kernelName: 'tslab',
      cellTimeoutSeconds: 120,
      startupTimeoutSeconds: 60,
      offlineScripts: offlineScriptPaths(),
      notebooks: [
        {
          name: 'probe.ko.ipynb',
          notebook: JSON.stringify(notebook),
          cwd: dir,
          executedPath: path.join(dir, 'out', 'probe.ko.ipynb'),
          htmlPath: path.join(dir, 'out', 'probe.ko.html'),
        },
      ],
    };
    const child = spawn(PYTHON, [path.join(REPO_ROOT, 'scripts', 'run_notebooks.py')], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, JUPYTER_PREFER_ENV_PATH: '1', JPY_SESSION_NAME: 'not/this/one.ipynb' },
    });
    let events = '';
    let output = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (events += chunk.toString('utf8')));
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stdin?.end(JSON.stringify(plan));
    await new Promise((resolve) => child.on('close', resolve));
    const done = events
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string; status?: string })
      .find((event) => event.event === 'done');
    assert.equal(done?.status, 'ok', `${events}\n${output.slice(-2000)}`);
    const executed = JSON.parse(fs.readFileSync(plan.notebooks[0].executedPath, 'utf8')) as {
      cells: Array<{ outputs: Array<{ text?: string | string[] }> }>;
    };
    const printed = [executed.cells[0].outputs[0]?.text ?? ''].flat().join('');
    assert.deepEqual(JSON.parse(printed), { session: path.join(dir, 'probe.ko.ipynb'), locale: 'ko' });
  });
});
