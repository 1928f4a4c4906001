/**
 * The reading site (`npm run site`, README "The reading site"): the exported chapter pages as one
 * small offline folder, `build/site/`, that opens from disk (file://) or from any static server,
 * and in which the models the run trained keep working.
 *
 * - `index.html` and `index.ko.html`: the chapters, what each teaches (its opening paragraph) and
 *   its picture (the output of its cell tagged readme-figure, the one the README shows), per edition.
 * - `NAME.html`, `NAME.ko.html`: each chapter's nbconvert page, copied, with a bar of links
 *   (previous, contents, next, the other edition) at its top and bottom.
 * - Live chapters (LIVE_CHAPTERS: 01's generator, 04's decoder, 05's two decoders): TensorFlow.js's browser build
 *   (`assets/tf.min.js`, from node_modules), the trained weights as a script
 *   (`models/NAME.js`, see siteWeights.ts) and `assets/live.js` (site/live.js) join the page as
 *   plain <script src> files, since a file:// page may not fetch() its neighbours. 04's copy of
 *   its latent map drops the grid of images decoded in advance (the page decodes live), all but
 *   the one the map shows first. 05 gets a pad of its own after its two maps (live.js).
 * - `assets/site.css` (site/site.css) and `assets/site-font.css`: the Korean characters of the
 *   text the site adds (titles, summaries, links), in a subset of NanumGothic, like the pages'
 *   own (scripts/site_font.py, through scripts/run_notebooks.py's KoreanFont).
 * - `site.json`: what was built: pages and their bytes against the budget, each model's
 *   encoding, bytes and largest pixel difference from its float32 original.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import type { Edition } from './edition';
import { readNotebook, sourceText } from './ipynb';
import { chooseWeightFormat, readSavedModel, weightsScript, type WeightChoice } from './siteWeights';

const REPO_ROOT = path.resolve(__dirname, '..');

/** Each chapter page with its models' script may weigh this much (HTML + weights; shared assets apart). */
export const PAGE_BUDGET_BYTES = 5_000_000;
/**
 * Weights are stored in the fewest bytes that change no output pixel by more than this many
 * grey levels (of 0-255) against the float32 model: one level is what an 8-bit screen rounds away.
 */
export const WEIGHT_TOLERANCE_GREY_LEVELS = 1;

export interface LiveChapter {
  kind: 'gan' | 'latent-map' | 'latent-pad';
  /** The saved models the page runs (lib/persist.ts folders `<models>/<notebook>/<model>/`). */
  models: string[];
  /** Their output range: the generator's tanh [-1, 1], the decoders' sigmoid [0, 1]. */
  range: 'tanh' | 'unit';
}

/** The chapters whose pages run their trained models. */
export const LIVE_CHAPTERS: Record<string, LiveChapter> = {
  '01-dcgan': { kind: 'gan', models: ['generator'], range: 'tanh' },
  '04-latent-space': { kind: 'latent-map', models: ['decoder'], range: 'unit' },
  '05-vae': { kind: 'latent-pad', models: ['aeDecoder', 'vaeDecoder'], range: 'unit' },
};

/**
 * 05's pad covers z from -PAD_RANGE to PAD_RANGE on both axes: where N(0, 1), the VAE's codes, puts
 * nearly all its draws (99.7% of each number within 3), and the patch of the autoencoder's map that
 * 05 decodes from N(0, 1). Its weights are measured on a 16x16 grid over that square.
 */
export const PAD_RANGE = 3;

const TEXT = {
  en: {
    lang: 'en',
    siteTitle: 'GANs and autoencoders, as TypeScript notebooks',
    intro:
      'Chapter-aligned notebooks that teach generative adversarial networks and autoencoders by training real ' +
      "models on MNIST, as the course's own run executed them. In the chapters marked live, the trained models " +
      'run in the page: draw new digits (01), move through the latent space (04) and decode one point with the ' +
      'autoencoder and the VAE side by side (05), with no kernel and no network.',
    contents: 'Contents',
    previous: 'Previous',
    next: 'Next',
    otherEdition: '한국어',
    otherLang: 'ko',
    live: 'live',
    ganTitle: 'Live: the trained generator, in this page',
    ganIntro:
      'The generator this notebook trained runs here, in your browser (TensorFlow.js; no kernel, no network). ' +
      'Each press draws 25 digits from fresh noise.',
    newDigits: 'New digits',
    walkTitle: 'A walk between two noise vectors',
    walkIntro: 'Left: a; right: b; middle: the generator at (1 − t)·a + t·b. Move the slider.',
    newEnds: 'New ends',
    mapNote:
      'Live: the decoder this notebook trained runs in this page. Hover or drag anywhere on the map: the panel ' +
      'decodes that exact point.',
    padTitle: 'Live: both decoders at the same point',
    padIntro:
      'The autoencoder and the VAE this notebook trained run in this page. Hover or drag anywhere on the square: ' +
      'both decoders decode that exact z, the autoencoder on the left, the VAE on the right. The square covers ' +
      'z[0] and z[1] from −3 to 3: where N(0, 1) puts nearly all its draws, the region the VAE’s codes fill; ' +
      'the autoencoder’s codes spread over a larger box of their own (the map on the left above), so here it ' +
      'shows only the part of its map round the origin.',
    aeLabel: 'Autoencoder',
    vaeLabel: 'VAE',
  },
  ko: {
    lang: 'ko',
    siteTitle: 'GAN과 오토인코더: TypeScript 노트북',
    intro:
      '책의 장을 따라가며 MNIST로 실제 모델을 학습시켜 생성적 적대 신경망과 오토인코더를 익히는 노트북을, 이 과정의 실행이 ' +
      '돌린 그대로 모았습니다. 실시간 표시가 붙은 장에서는 학습된 모델이 페이지 안에서 돌아갑니다. 새 숫자를 그리고(01), ' +
      '잠재 공간을 움직여 보고(04), 한 점을 오토인코더와 VAE로 나란히 디코딩해 볼 수 있습니다(05). 커널도 네트워크도 ' +
      '필요 없습니다.',
    contents: '목차',
    previous: '이전',
    next: '다음',
    otherEdition: 'English',
    otherLang: 'en',
    live: '실시간',
    ganTitle: '실시간: 이 페이지에서 돌아가는 학습된 생성자',
    ganIntro:
      '이 노트북이 학습시킨 생성자가 브라우저에서 바로 실행됩니다(TensorFlow.js, 커널도 네트워크도 필요 없음). ' +
      '누를 때마다 새 잡음에서 숫자 25개를 그립니다.',
    newDigits: '새 숫자',
    walkTitle: '두 잡음 벡터 사이 걷기',
    walkIntro:
      '왼쪽은 a, 오른쪽은 b, 가운데는 (1 − t)·a + t·b에서 생성자가 그린 이미지입니다. 슬라이더를 움직여 보세요.',
    newEnds: '새 양 끝',
    mapNote:
      '실시간: 이 노트북이 학습시킨 디코더가 이 페이지에서 돌아갑니다. 지도 위 아무 곳이나 가리키거나 끌면 패널이 바로 ' +
      '그 점을 디코딩합니다.',
    padTitle: '실시간: 같은 점에서 두 디코더',
    padIntro:
      '이 노트북이 학습시킨 오토인코더와 VAE가 이 페이지에서 돌아갑니다. 정사각형 위 아무 곳이나 가리키거나 끌면 두 ' +
      '디코더가 바로 그 z를 디코딩합니다. 왼쪽이 오토인코더, 오른쪽이 VAE입니다. 정사각형은 z[0]과 z[1]의 −3부터 ' +
      '3까지를 덮습니다. N(0, 1)에서 뽑은 값이 거의 모두 들어가는 곳이자 VAE의 코드가 채우는 영역입니다. 오토인코더의 ' +
      '코드는 위 왼쪽 지도처럼 더 큰 자기만의 상자에 퍼져 있으므로, 여기서는 그 지도 가운데 원점 둘레만 보입니다.',
    aeLabel: '오토인코더',
    vaeLabel: 'VAE',
  },
} as const;

export interface BuildSiteOptions {
  /** The exported pages (NAME.html, NAME.ko.html) and executed notebooks. Default build/notebooks. */
  from?: string;
  /** Where the site goes; replaced as a whole. Default build/site. */
  out?: string;
  /**
   * The saved models' root. Default: from the run's summary.json, build/models for the full
   * profile and build/models-<profile> for the others (the runner's defaults).
   */
  models?: string;
  /** Python with fontTools (the Korean font subset). Default .venv/bin/python. */
  python?: string;
  log?: (line: string) => void;
}

export interface SitePage {
  file: string;
  notebook: string;
  edition: Edition;
  title: string;
  htmlBytes: number;
  /** Bytes of the models' script the page loads (0 without live models). */
  weightsBytes: number;
  totalBytes: number;
  live: LiveChapter['kind'] | null;
}

export interface SiteModel extends Omit<WeightChoice, 'encoded'> {
  notebook: string;
  model: string;
  dir: string;
  script: string;
  scriptBytes: number;
}

export interface SiteReport {
  out: string;
  from: string;
  models: string;
  budgetBytes: number;
  toleranceGreyLevels: number;
  pages: SitePage[];
  liveModels: SiteModel[];
  /** Chapters that could run live but whose saved models are missing (their pages stay static). */
  missingModels: string[];
  /** Files every page may load (tf.min.js, live.js, the styles and font), and their bytes in all. */
  sharedFiles: Record<string, number>;
  sharedBytes: number;
  /** Pages over the budget, as sentences; empty when all fit. */
  overBudget: string[];
}

interface Chapter {
  notebook: string;
  pages: Partial<Record<Edition, { title: string; summary: string; source: string }>>;
}

/** The saved models' root the runner used for the pages in `from` (its summary.json says the profile). */
export function defaultModelsRoot(from: string): string {
  const summaryFile = path.join(from, 'summary.json');
  const profile = fs.existsSync(summaryFile)
    ? ((JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { profile?: string }).profile ?? 'full')
    : 'full';
  return path.join(REPO_ROOT, 'build', profile === 'full' ? 'models' : `models-${profile}`);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that can stand inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** Markdown to plain text, for a summary: links, emphasis and code marks go, their text stays. */
function plainText(markdown: string): string {
  return markdown
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|\*|_|`)(?=\S)([^]*?\S)\1/g, '$2')
    .replace(/\s+/g, ' ')
    .trim();
}

/** At most about `max` characters, cut after a sentence (or a word) with an ellipsis. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max);
  const sentence = Math.max(head.lastIndexOf('. '), head.lastIndexOf('다. '), head.lastIndexOf('요. '));
  if (sentence > max / 2) return head.slice(0, head.indexOf('. ', sentence) + 1);
  return `${head.slice(0, head.lastIndexOf(' '))} …`;
}

/** A chapter's title (its first heading) and what it teaches (its first paragraph), from the notebook. */
function chapterText(notebookFile: string, fallbackTitle: string): { title: string; summary: string } {
  if (!fs.existsSync(notebookFile)) return { title: fallbackTitle, summary: '' };
  const markdown = readNotebook(notebookFile).cells.find((cell) => cell.cell_type === 'markdown');
  const text = markdown ? sourceText(markdown.source) : '';
  const title = /^#\s+(.+)$/m.exec(text)?.[1].trim() ?? fallbackTitle;
  const blocks = text.split(/\n\s*\n/).map((block) => block.trim());
  const at = blocks.findIndex((block) => block !== '' && !/^(#|```|\||[-*] |\d+\. |<)/.test(block));
  let summary = at < 0 ? '' : plainText(blocks[at]);
  if (summary.endsWith(':')) {
    // A paragraph that opens a list takes the list along; one that opens a code block or a table ends there.
    const marker = /^([-*]|\d+\.) /;
    const items = (blocks[at + 1] ?? '')
      .split('\n')
      .filter((line) => marker.test(line))
      .map((line) => plainText(line.replace(marker, '')).replace(/[;.]$/, ''));
    summary = items.length ? `${summary} ${items.join('; ')}.` : `${summary.slice(0, -1)}.`;
  }
  return { title: plainText(title), summary: shorten(summary, 420) };
}

/** The chapters in `from`, in name order, with the editions whose pages exist. */
function findChapters(from: string): Chapter[] {
  const chapters = new Map<string, Chapter>();
  for (const file of fs.readdirSync(from).sort()) {
    const match = /^(.+?)(\.ko)?\.html$/.exec(file);
    if (!match) continue;
    const [notebook, edition]: [string, Edition] = [match[1], match[2] ? 'ko' : 'en'];
    const ipynb = `${notebook}${edition === 'ko' ? '.ko' : ''}.ipynb`;
    const executed = path.join(from, ipynb);
    const source = fs.existsSync(executed) ? executed : path.join(REPO_ROOT, 'notebooks', ipynb);
    const chapter = chapters.get(notebook) ?? { notebook, pages: {} };
    chapter.pages[edition] = { ...chapterText(source, notebook), source: file };
    chapters.set(notebook, chapter);
  }
  return [...chapters.values()];
}

function pageFile(notebook: string, edition: Edition): string {
  return `${notebook}${edition === 'ko' ? '.ko' : ''}.html`;
}

function indexFile(edition: Edition): string {
  return edition === 'ko' ? 'index.ko.html' : 'index.html';
}

/** The picture of a chapter: the first image of its cell tagged readme-figure, as the page shows it. */
function pagePicture(html: string): { extension: 'png' | 'svg'; data: Buffer } | undefined {
  const start = html.search(/class="[^"]*\bcelltag_readme-figure\b/);
  if (start < 0) return undefined;
  const end = html.indexOf('class="jp-Cell ', start + 20);
  const cell = html.slice(start, end < 0 ? undefined : end);
  const image = /src="data:image\/(png|svg\+xml);base64,([^"]+)"/.exec(cell);
  if (!image) return undefined;
  return { extension: image[1] === 'png' ? 'png' : 'svg', data: Buffer.from(image[2], 'base64') };
}

/** The bar of links at the top and bottom of a chapter page. */
function navigation(chapters: Chapter[], index: number, edition: Edition, where: 'top' | 'bottom'): string {
  const text = TEXT[edition];
  const inEdition = chapters.filter((chapter) => chapter.pages[edition]);
  const at = inEdition.indexOf(chapters[index]);
  const link = (className: string, chapter: Chapter | undefined, label: (title: string) => string) => {
    if (!chapter) return '';
    const title = chapter.pages[edition]!.title;
    return (
      `<a class="${className}" href="${pageFile(chapter.notebook, edition)}" title="${escapeHtml(title)}">` +
      `${escapeHtml(label(title))}</a>`
    );
  };
  const other: Edition = edition === 'en' ? 'ko' : 'en';
  const otherPage = chapters[index].pages[other]
    ? `<a class="gan-site-lang" href="${pageFile(chapters[index].notebook, other)}" hreflang="${other}" ` +
      `lang="${other}">${escapeHtml(text.otherEdition)}</a>`
    : '';
  return (
    `<nav class="gan-site-nav gan-site-${where}" lang="${edition}">` +
    link('gan-site-prev', inEdition[at - 1], (title) => `← ${text.previous}: ${title}`) +
    `<a class="gan-site-contents" href="${indexFile(edition)}">${escapeHtml(text.contents)}</a>` +
    link('gan-site-next', inEdition[at + 1], (title) => `${text.next}: ${title} →`) +
    otherPage +
    '</nav>'
  );
}

/**
 * 04's latent map for the site: the decoded grid's images go but the one the map shows first
 * (the page decodes every point live), and so does the cross that marks the hovered grid point
 * (live.js marks the exact point). Returns the page, the first point, and the grid's extent.
 */
function liveLatentMap(html: string): {
  html: string;
  initialPoint: [number, number];
  extent: { xMin: number; xMax: number; yMin: number; yMax: number };
} {
  const pattern = /(<script\b[^>]*\bclass="gan-live-chart-spec"[^>]*>)([^]*?)(<\/script>)/;
  const match = pattern.exec(html);
  if (!match) throw new Error('the page has no live latent map (script.gan-live-chart-spec)');
  type Layer = { name?: string; params?: Array<{ value?: Array<{ i: number }> }> };
  type Row = { i: number; x: number; y: number; u: string };
  const spec = JSON.parse(match[2]) as { hconcat?: Array<{ layer?: Layer[] }>; datasets?: { latentGrid?: Row[] } };
  const layers = spec.hconcat?.[0]?.layer;
  const rows = spec.datasets?.latentGrid;
  const initial = layers?.find((layer) => layer.name === 'gridHover')?.params?.[0]?.value?.[0]?.i;
  const first = rows?.find((row) => row.i === initial);
  if (!layers || !rows || !first)
    throw new Error("the page's latent map is not latentMapChart's (gridHover, latentGrid)");
  for (const row of rows) if (row !== first) row.u = '';
  spec.hconcat![0].layer = layers.filter((layer) => layer.name !== 'gridCursor');
  const xs = rows.map((row) => row.x);
  const ys = rows.map((row) => row.y);
  return {
    html:
      html.slice(0, match.index) + match[1] + scriptJson(spec) + match[3] + html.slice(match.index + match[0].length),
    initialPoint: [first.x, first.y],
    extent: { xMin: Math.min(...xs), xMax: Math.max(...xs), yMin: Math.min(...ys), yMax: Math.max(...ys) },
  };
}

/** The inputs each model is measured on when its weights are encoded: 64 noise vectors, or a 16x16 grid of codes. */
function probeInputs(
  live: LiveChapter,
  inputSize: number,
  extent?: { xMin: number; xMax: number; yMin: number; yMax: number },
): tf.Tensor {
  if (live.kind === 'gan') return tf.randomNormal([64, inputSize], 0, 1, 'float32', 2024);
  const box = extent ?? { xMin: -PAD_RANGE, xMax: PAD_RANGE, yMin: -PAD_RANGE, yMax: PAD_RANGE };
  const points: number[] = [];
  for (let row = 0; row < 16; row++) {
    for (let col = 0; col < 16; col++) {
      points.push(box.xMin + ((box.xMax - box.xMin) * col) / 15, box.yMin + ((box.yMax - box.yMin) * row) / 15);
    }
  }
  return tf.tensor2d(points, [256, 2]);
}

/** The index of the notebook's first cell holding `text` (the English notebook's; the Korean one's cells match). */
function cellIndex(from: string, notebook: string, text: string): number {
  const executed = path.join(from, `${notebook}.ipynb`);
  const file = fs.existsSync(executed) ? executed : path.join(REPO_ROOT, 'notebooks', `${notebook}.ipynb`);
  const index = readNotebook(file).cells.findIndex((cell) => sourceText(cell.source).includes(text));
  if (index < 0) throw new Error(`${file} has no cell holding ${text}`);
  return index;
}

/** The @font-face of the Korean characters in `text`, made by scripts/site_font.py. */
function koreanFontCss(text: string, python: string): string {
  const script = path.join(REPO_ROOT, 'scripts', 'site_font.py');
  const run = spawnSync(python, [script, 'Site Korean'], { input: text, encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(
      `the site's Korean font could not be made (${script}: ${(run.stderr || String(run.error)).trim()}); ` +
        'run `npm run setup` (it installs fonts-nanum and fontTools).',
    );
  }
  return (
    '/* The Korean characters of the text the site adds (titles, summaries, links), in a subset of NanumGothic\n' +
    '   (fonts-nanum; SIL Open Font License 1.1, renamed as it asks): the reader may have no Korean font. */\n' +
    `${run.stdout.trim()}\n:root { --gan-site-font: "Site Korean", system-ui, sans-serif; }\n`
  );
}

function indexPage(chapters: Chapter[], edition: Edition, pictures: Map<string, string>, live: Set<string>): string {
  const text = TEXT[edition];
  const other: Edition = edition === 'en' ? 'ko' : 'en';
  const hasOther = chapters.some((chapter) => chapter.pages[other]);
  const rows = chapters
    .filter((chapter) => chapter.pages[edition])
    .map((chapter) => {
      const page = chapter.pages[edition]!;
      const picture = pictures.get(pageFile(chapter.notebook, edition));
      const badge = live.has(chapter.notebook);
      const otherLink = chapter.pages[other]
        ? `<p class="gan-site-other"><a href="${pageFile(chapter.notebook, other)}" hreflang="${other}" ` +
          `lang="${other}">${escapeHtml(text.otherEdition)}</a></p>`
        : '';
      return (
        '<section class="gan-site-chapter">\n<div>\n' +
        `<h2><a href="${pageFile(chapter.notebook, edition)}">${escapeHtml(page.title)}</a>` +
        (badge ? `<span class="gan-site-badge">${escapeHtml(text.live)}</span>` : '') +
        '</h2>\n' +
        (page.summary ? `<p>${escapeHtml(page.summary)}</p>\n` : '') +
        otherLink +
        '\n</div>\n' +
        (picture
          ? `<a href="${pageFile(chapter.notebook, edition)}"><img src="${picture}" alt=""></a>\n`
          : '<div></div>\n') +
        '</section>'
      );
    })
    .join('\n');
  const switchLink = hasOther
    ? `<a class="gan-site-lang" href="${indexFile(other)}" hreflang="${other}" lang="${other}">` +
      `${escapeHtml(text.otherEdition)}</a>`
    : '';
  return `<!DOCTYPE html>
<html lang="${edition}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(text.siteTitle)}</title>
<link rel="stylesheet" href="assets/site.css">
<link rel="stylesheet" href="assets/site-font.css">
</head>
<body class="gan-site-index">
<nav class="gan-site-nav gan-site-top" lang="${edition}">
<a class="gan-site-contents" href="${indexFile(edition)}">${escapeHtml(text.contents)}</a>${switchLink}
</nav>
<main>
<h1>${escapeHtml(text.siteTitle)}</h1>
<p class="gan-site-intro">${escapeHtml(text.intro)}</p>
${rows}
</main>
</body>
</html>
`;
}

/** Puts text into the page: before </head>, after <body ...>, before </body>. */
function inject(html: string, parts: { head: string; top: string; bottom: string }): string {
  const body = /<body\b[^>]*>/.exec(html);
  const headEnd = html.indexOf('</head>');
  const bodyEnd = html.lastIndexOf('</body>');
  if (!body || headEnd < 0 || bodyEnd < body.index) throw new Error('the page lacks </head>, <body> or </body>');
  const afterBody = body.index + body[0].length;
  return (
    html.slice(0, headEnd) +
    parts.head +
    html.slice(headEnd, afterBody) +
    parts.top +
    html.slice(afterBody, bodyEnd) +
    parts.bottom +
    html.slice(bodyEnd)
  );
}

/** Builds the site; see the module's comment. Resolves with what it wrote (also in site.json). */
export async function buildSite(options: BuildSiteOptions = {}): Promise<SiteReport> {
  const log = options.log ?? (() => undefined);
  const from = path.resolve(options.from ?? path.join(REPO_ROOT, 'build', 'notebooks'));
  const out = path.resolve(options.out ?? path.join(REPO_ROOT, 'build', 'site'));
  const modelsRoot = path.resolve(options.models ?? defaultModelsRoot(from));
  const python = options.python ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');
  if (!fs.existsSync(from)) throw new Error(`${from} does not exist: run the notebooks first (npm run notebooks).`);
  const chapters = findChapters(from);
  if (chapters.length === 0) throw new Error(`${from} holds no exported pages (NAME.html): run the notebooks first.`);

  const temporary = `${out}.tmp-${process.pid}`;
  fs.rmSync(temporary, { recursive: true, force: true });
  for (const folder of ['assets', 'models', 'pictures'])
    fs.mkdirSync(path.join(temporary, folder), { recursive: true });

  // The shared files.
  const tfScript = require.resolve('@tensorflow/tfjs/dist/tf.min.js', { paths: [REPO_ROOT] });
  fs.copyFileSync(tfScript, path.join(temporary, 'assets', 'tf.min.js'));
  for (const file of ['live.js', 'site.css']) {
    fs.copyFileSync(path.join(REPO_ROOT, 'site', file), path.join(temporary, 'assets', file));
  }

  // The live models: each chapter's weights, in the fewest bytes that look the same.
  const liveModels: SiteModel[] = [];
  const missingModels: string[] = [];
  const livePages = new Map<
    string,
    { initialPoint?: [number, number]; anchorCell?: number; html: Record<string, string> }
  >();
  for (const chapter of chapters) {
    const live = LIVE_CHAPTERS[chapter.notebook];
    if (!live) continue;
    const dirs = live.models.map((model) => path.join(modelsRoot, chapter.notebook, model));
    const absent = dirs.filter((dir) => !fs.existsSync(path.join(dir, 'model.json')));
    if (absent.length > 0) {
      missingModels.push(chapter.notebook);
      log(`${chapter.notebook}: no saved model in ${absent.join(', ')}; its pages keep their static pictures`);
      continue;
    }
    const html: Record<string, string> = {};
    let initialPoint: [number, number] | undefined;
    let extent: Parameters<typeof probeInputs>[2];
    for (const edition of ['en', 'ko'] as const) {
      const page = chapter.pages[edition];
      if (!page) continue;
      html[edition] = fs.readFileSync(path.join(from, page.source), 'utf8');
      if (live.kind === 'latent-map') {
        const map = liveLatentMap(html[edition]);
        [html[edition], initialPoint, extent] = [map.html, map.initialPoint, map.extent];
      }
    }
    const encoded: Record<string, WeightChoice['encoded']> = {};
    const choices: Array<{ model: string; dir: string; measured: Omit<WeightChoice, 'encoded'> }> = [];
    for (const [k, model] of live.models.entries()) {
      const saved = readSavedModel(dirs[k]);
      const inputSize = (
        saved.modelTopology as { config?: { layers?: Array<{ config?: { batch_input_shape?: number[] } }> } }
      ).config?.layers?.[0]?.config?.batch_input_shape?.[1];
      const probe = probeInputs(live, inputSize ?? 2, extent);
      const choice = await chooseWeightFormat(saved, probe, live.range, WEIGHT_TOLERANCE_GREY_LEVELS);
      probe.dispose();
      const { encoded: modelEncoded, ...measured } = choice;
      encoded[model] = modelEncoded;
      choices.push({ model, dir: dirs[k], measured });
      log(
        `${chapter.notebook}: ${model} as ${choice.format} (${choice.bytes} bytes, float32 ${choice.float32Bytes}; ` +
          `largest pixel difference ${choice.maxGreyDifference.toFixed(3)} grey levels)`,
      );
    }
    // One script carries all of a chapter's models; each model's entry gives that script's bytes.
    const script = `models/${chapter.notebook}.js`;
    const scriptText = weightsScript(chapter.notebook, encoded);
    fs.writeFileSync(path.join(temporary, script), scriptText);
    for (const { model, dir, measured } of choices) {
      liveModels.push({
        notebook: chapter.notebook,
        model,
        dir,
        script,
        scriptBytes: Buffer.byteLength(scriptText),
        ...measured,
      });
    }
    // 05's pad goes after the cell that draws its two maps (the page has one .jp-Cell per notebook cell).
    const anchorCell = live.kind === 'latent-pad' ? cellIndex(from, chapter.notebook, 'sideBySide([mapOf(') : undefined;
    livePages.set(chapter.notebook, { initialPoint, anchorCell, html });
  }

  // The pages, and the pictures for the index.
  const pages: SitePage[] = [];
  const pictures = new Map<string, string>();
  let addedText = '';
  for (const [index, chapter] of chapters.entries()) {
    for (const edition of ['en', 'ko'] as const) {
      const page = chapter.pages[edition];
      if (!page) continue;
      const file = pageFile(chapter.notebook, edition);
      const live = livePages.get(chapter.notebook);
      const source = live?.html[edition] ?? fs.readFileSync(path.join(from, page.source), 'utf8');
      const picture = pagePicture(source);
      if (picture) {
        const name = `pictures/${file.replace(/\.html$/, '')}.${picture.extension}`;
        fs.writeFileSync(path.join(temporary, name), picture.data);
        pictures.set(file, name);
      }
      const top = navigation(chapters, index, edition, 'top');
      addedText += top;
      let bottom = navigation(chapters, index, edition, 'bottom');
      const liveChapter = LIVE_CHAPTERS[chapter.notebook];
      if (live && liveChapter) {
        const config = {
          notebook: chapter.notebook,
          kind: liveChapter.kind,
          models: liveChapter.models,
          text: TEXT[edition],
          ...(live.initialPoint ? { initialPoint: live.initialPoint } : {}),
          ...(live.anchorCell !== undefined ? { anchorCell: live.anchorCell, padRange: PAD_RANGE } : {}),
        };
        addedText += Object.values(TEXT[edition]).join(' ');
        bottom +=
          `\n<script>self.ganSiteConfig = ${scriptJson(config)};</script>\n` +
          '<script defer src="assets/tf.min.js"></script>\n' +
          `<script defer src="models/${chapter.notebook}.js"></script>\n` +
          '<script defer src="assets/live.js"></script>\n';
      }
      const head =
        '<link rel="stylesheet" href="assets/site.css">\n<link rel="stylesheet" href="assets/site-font.css">\n';
      // nbconvert writes lang="en" on every page; the Korean edition's copy says what it is.
      const html = inject(source, { head, top, bottom }).replace(/<html\b[^>]*>/, `<html lang="${edition}">`);
      fs.writeFileSync(path.join(temporary, file), html);
      const weightsBytes = live
        ? (liveModels.find((model) => model.notebook === chapter.notebook)?.scriptBytes ?? 0)
        : 0;
      const htmlBytes = Buffer.byteLength(html);
      pages.push({
        file,
        notebook: chapter.notebook,
        edition,
        title: page.title,
        htmlBytes,
        weightsBytes,
        totalBytes: htmlBytes + weightsBytes,
        live: live ? liveChapter.kind : null,
      });
    }
  }

  // The index pages, and the Korean font for all the text the site adds.
  for (const edition of ['en', 'ko'] as const) {
    if (!chapters.some((chapter) => chapter.pages[edition])) continue;
    const html = indexPage(chapters, edition, pictures, new Set(livePages.keys()));
    addedText += html;
    fs.writeFileSync(path.join(temporary, indexFile(edition)), html);
  }
  fs.writeFileSync(path.join(temporary, 'assets', 'site-font.css'), koreanFontCss(addedText, python));

  const sharedFiles = Object.fromEntries(
    fs
      .readdirSync(path.join(temporary, 'assets'))
      .map((file) => [`assets/${file}`, fs.statSync(path.join(temporary, 'assets', file)).size]),
  );
  const sharedBytes = Object.values(sharedFiles).reduce((sum, bytes) => sum + bytes, 0);
  const overBudget = pages
    .filter((page) => page.totalBytes > PAGE_BUDGET_BYTES)
    .map((page) => `${page.file}: ${page.totalBytes} bytes with its models, over the budget of ${PAGE_BUDGET_BYTES}`);
  const report: SiteReport = {
    out,
    from,
    models: modelsRoot,
    budgetBytes: PAGE_BUDGET_BYTES,
    toleranceGreyLevels: WEIGHT_TOLERANCE_GREY_LEVELS,
    pages,
    liveModels,
    missingModels,
    sharedFiles,
    sharedBytes,
    overBudget,
  };
  // The folders in site.json are relative to the repository: the site may be copied anywhere.
  const relative = (file: string) => path.relative(REPO_ROOT, file);
  const written = {
    ...report,
    out: relative(out),
    from: relative(from),
    models: relative(modelsRoot),
    liveModels: liveModels.map((model) => ({ ...model, dir: relative(model.dir) })),
  };
  fs.writeFileSync(path.join(temporary, 'site.json'), `${JSON.stringify(written, null, 2)}\n`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(temporary, out);
  return report;
}

/** The report as a few lines: the pages and their bytes, the models and their encodings. */
export function describeSite(report: SiteReport): string[] {
  const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
  const relative = (file: string) => path.relative(process.cwd(), file) || '.';
  return [
    `wrote ${relative(report.out)}/ from ${relative(report.from)}/ (models: ${relative(report.models)}/)`,
    ...report.pages.map(
      (page) =>
        `  ${page.file.padEnd(30)} ${megabytes(page.totalBytes).padStart(8)}` +
        (page.weightsBytes ? ` (page ${megabytes(page.htmlBytes)} + model ${megabytes(page.weightsBytes)}, live)` : ''),
    ),
    `  budget per page with its model: ${megabytes(report.budgetBytes)}; shared by all pages: ` +
      `${megabytes(report.sharedBytes)} (${Object.keys(report.sharedFiles).join(', ')})`,
    ...report.liveModels.map(
      (model) =>
        `  ${model.notebook} ${model.model}: ${model.format}, ${megabytes(model.bytes)} of weights ` +
        `(float32: ${megabytes(model.float32Bytes)}), largest pixel difference from float32 ` +
        `${model.maxGreyDifference.toFixed(3)} grey levels (tried ${model.tried
          .map((tried) => `${tried.format} ${tried.maxGreyDifference.toFixed(2)}`)
          .join(', ')})`,
    ),
    ...report.missingModels.map((notebook) => `  ${notebook}: no saved models, so its pages stay static`),
    ...report.overBudget.map((line) => `  OVER BUDGET: ${line}`),
  ];
}
