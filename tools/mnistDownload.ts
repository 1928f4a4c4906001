/**
 * Downloads the full MNIST set (the four canonical .gz files) into data/mnist/full.
 *
 * Safe to interrupt and rerun: each file is held in memory while it arrives, its MD5 is checked,
 * and only then is it written to a temporary file in the same folder, flushed and renamed into
 * place. So data/mnist/full only ever holds complete, verified files; files already there and
 * verified are skipped. Offline, the first connection error stops everything with a message
 * that says so (the embedded test set keeps working).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeLeftovers, writeFileAtomic } from '../lib/persist';
import { DEFAULT_MNIST_DIR, DOWNLOAD_COMMAND, MNIST_FILES, MNIST_MD5 } from '../lib/data/mnist';

/** The TensorFlow/Google Cloud mirror of the canonical files (TensorFlow's MNIST tutorials used it). */
export const DEFAULT_MNIST_BASE_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/';
/** Environment variable that overrides the base URL (the --base-url flag overrides both). */
export const MNIST_BASE_URL_ENV = 'MNIST_BASE_URL';
/** Another mirror of the same files, suggested when the default one fails. */
export const ALTERNATIVE_MNIST_BASE_URL = 'https://ossci-datasets.s3.amazonaws.com/mnist/';

export interface MnistFileSpec {
  name: string;
  /** Expected MD5 of the file as downloaded (hex). */
  md5: string;
}

/** The canonical four files with their MD5s. */
export const MNIST_DOWNLOAD_FILES: readonly MnistFileSpec[] = Object.values(MNIST_FILES).map((name) => ({
  name,
  md5: MNIST_MD5[name],
}));

export interface DownloadProgress {
  file: string;
  /** 0-based position of this file among those being downloaded. */
  fileIndex: number;
  fileCount: number;
  receivedBytes: number;
  /** From Content-Length; null when the server does not say. */
  totalBytes: number | null;
}

export interface DownloadMnistOptions {
  /** Where the files are fetched from (a folder URL). Default: $MNIST_BASE_URL, else DEFAULT_MNIST_BASE_URL. */
  baseUrl?: string;
  /** The MNIST data folder; the files go to its `full` subfolder. Default: the project's data/mnist. */
  dataDir?: string;
  /** Where the files go. Default: `<dataDir>/full`. */
  fullDir?: string;
  /** Which files, with their MD5s. Default: the canonical four (MNIST_DOWNLOAD_FILES). */
  files?: readonly MnistFileSpec[];
  /** Give up when no byte arrives for this long (connecting or mid-transfer). Default 30000 ms. */
  timeoutMs?: number;
  /** Called as bytes arrive (unthrottled: see createDownloadProgressBar). Default: none. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Status lines (skipped, verified). Default: none. */
  log?: (line: string) => void;
}

export interface DownloadResult {
  fullDir: string;
  baseUrl: string;
  downloaded: string[];
  /** Files that were already present and verified. */
  skipped: string[];
}

export type DownloadFailure = 'offline' | 'timeout' | 'http' | 'incomplete' | 'checksum';

/** A download that did not produce a verified file; nothing partial was left behind. */
export class MnistDownloadError extends Error {
  constructor(
    readonly failure: DownloadFailure,
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'MnistDownloadError';
  }
}

// Errors that mean the host cannot be reached at all: no network, no DNS, nothing listening.
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);
function md5(bytes: Uint8Array): string {
  return crypto.createHash('md5').update(bytes).digest('hex');
}

function resolveBaseUrl(option: string | undefined): string {
  const raw = option ?? process.env[MNIST_BASE_URL_ENV] ?? DEFAULT_MNIST_BASE_URL;
  const withSlash = raw.endsWith('/') ? raw : `${raw}/`;
  let url: URL;
  try {
    url = new URL(withSlash);
  } catch {
    throw new Error(
      `downloadMnist: the base URL ${JSON.stringify(raw)} is not a valid URL ` +
        `(expected e.g. ${DEFAULT_MNIST_BASE_URL}).`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`downloadMnist: the base URL must start with http:// or https://; got ${JSON.stringify(raw)}.`);
  }
  return url.toString();
}

function offlineMessage(url: URL, code: string, fullDir: string): string {
  return (
    `Cannot download MNIST: could not reach ${url.host} (${code}). This machine appears to have no network access ` +
    `(or the mirror is down); nothing was written to ${fullDir}. ` +
    `The embedded 10,000-image test set in data/mnist still works: loadMnist() uses it. ` +
    `Run \`${DOWNLOAD_COMMAND}\` again where a network is available, or point --base-url ` +
    `(or ${MNIST_BASE_URL_ENV}) at a reachable mirror, e.g. ${ALTERNATIVE_MNIST_BASE_URL}.`
  );
}

/** GETs `url` into memory (fetch follows redirects); rejects on stalls, bad statuses and early ends. */
async function fetchBytes(
  url: URL,
  file: string,
  fullDir: string,
  timeoutMs: number,
  onBytes: (received: number, total: number | null) => void,
): Promise<Buffer> {
  // A stall is `timeoutMs` without a byte: connecting, waiting for the answer, or mid-transfer.
  const stall = new AbortController();
  let timer = setTimeout(() => stall.abort(), timeoutMs);
  let responded = false;
  let received = 0;
  const fail = (failure: DownloadFailure, why: string) =>
    new MnistDownloadError(failure, file, `Cannot download ${file}: ${why}`);
  try {
    const response = await fetch(url, { signal: stall.signal });
    responded = true;
    if (!response.ok) {
      const statusText = response.statusText ? ` ${response.statusText}` : '';
      throw fail(
        'http',
        `${url} answered HTTP ${response.status}${statusText}. ` +
          `Try another mirror with --base-url (or ${MNIST_BASE_URL_ENV}), e.g. ${ALTERNATIVE_MNIST_BASE_URL}.`,
      );
    }
    const length = response.headers.get('content-length');
    const total = length !== null && /^\d+$/.test(length) ? Number(length) : null;
    const chunks: Uint8Array[] = [];
    onBytes(0, total);
    for await (const chunk of response.body ?? []) {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), timeoutMs);
      chunks.push(chunk);
      received += chunk.length;
      onBytes(received, total);
    }
    if (total !== null && received !== total) {
      throw fail(
        'incomplete',
        `the connection ended after ${received} of ${total} bytes. ` +
          `Nothing was kept; run \`${DOWNLOAD_COMMAND}\` again to resume.`,
      );
    }
    return Buffer.concat(chunks, received);
  } catch (err) {
    if (err instanceof MnistDownloadError) throw err;
    if (stall.signal.aborted) {
      throw fail(
        'timeout',
        `no data from ${url.host} for ${timeoutMs / 1000} s${responded ? ` after ${received} bytes` : ''}. ` +
          `The network or the mirror is stalled; nothing was kept. ` +
          `Run \`${DOWNLOAD_COMMAND}\` again, or try another mirror with --base-url.`,
      );
    }
    // fetch's own error says only "fetch failed" or "terminated"; the system's code is its cause's.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? cause?.message ?? (err as Error).message;
    if (!responded && UNREACHABLE_CODES.has(code))
      throw new MnistDownloadError('offline', file, offlineMessage(url, code, fullDir));
    throw fail(
      'incomplete',
      `the connection to ${url.host} failed (${code}) after ${received} bytes. ` +
        `Nothing was kept; run \`${DOWNLOAD_COMMAND}\` again to resume.`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Downloads the files that are not already present and verified. Resolves with what it did. */
export async function downloadMnist(options: DownloadMnistOptions = {}): Promise<DownloadResult> {
  const baseUrl = resolveBaseUrl(options.baseUrl);
  const fullDir = path.resolve(options.fullDir ?? path.join(options.dataDir ?? DEFAULT_MNIST_DIR, 'full'));
  const files = options.files ?? MNIST_DOWNLOAD_FILES;
  const timeoutMs = options.timeoutMs ?? 30000;
  const log = options.log ?? (() => undefined);
  if (!(timeoutMs > 0)) throw new RangeError(`downloadMnist: timeoutMs must be positive; got ${timeoutMs}.`);

  removeLeftovers(fullDir);
  const result: DownloadResult = { fullDir, baseUrl, downloaded: [], skipped: [] };
  for (let fileIndex = 0; fileIndex < files.length; fileIndex++) {
    const { name, md5: expectedMd5 } = files[fileIndex];
    const target = path.join(fullDir, name);
    if (fs.existsSync(target)) {
      if (md5(fs.readFileSync(target)) === expectedMd5.toLowerCase()) {
        log(`${name}: already downloaded and verified, skipped`);
        result.skipped.push(name);
        continue;
      }
      log(`${name}: present but its checksum is wrong, downloading it again`);
    }
    const url = new URL(name, baseUrl);
    const bytes = await fetchBytes(url, name, fullDir, timeoutMs, (receivedBytes, totalBytes) => {
      options.onProgress?.({ file: name, fileIndex, fileCount: files.length, receivedBytes, totalBytes });
    });
    const found = md5(bytes);
    if (found !== expectedMd5.toLowerCase()) {
      throw new MnistDownloadError(
        'checksum',
        name,
        `Cannot use ${name} from ${url}: its MD5 is ${found}, expected ${expectedMd5}. ` +
          `The mirror serves a different or damaged file, so it was not saved. ` +
          `Try another mirror with --base-url (or ${MNIST_BASE_URL_ENV}), e.g. ${ALTERNATIVE_MNIST_BASE_URL}.`,
      );
    }
    await writeFileAtomic(target, bytes);
    log(`${name}: downloaded and verified (${bytes.length} bytes)`);
    result.downloaded.push(name);
  }
  return result;
}

export interface DownloadProgressBarOptions {
  /** Where the bar goes. Default process.stderr. */
  stream?: { write(text: string): unknown; isTTY?: boolean };
  /** Minimum ms between redraws (a file's last update always draws). Default 200 on a terminal, 2000 otherwise. */
  intervalMs?: number;
  /** Bar width in characters. Default 30. */
  width?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** One line: `[2/4] train-labels-idx1-ubyte.gz [#####-----] 50% 14.4/28.9 kB`. */
export function formatDownloadProgress(progress: DownloadProgress, width = 30): string {
  const { file, fileIndex, fileCount, receivedBytes, totalBytes } = progress;
  const size = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`);
  const head = `[${fileIndex + 1}/${fileCount}] ${file}`;
  if (totalBytes === null || totalBytes === 0) return `${head} ${size(receivedBytes)}`;
  const fraction = Math.min(1, receivedBytes / totalBytes);
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  return `${head} ${bar} ${Math.floor(fraction * 100)}% ${size(receivedBytes)} / ${size(totalBytes)}`;
}

/** An onProgress for downloadMnist: a throttled bar, redrawn in place on a terminal, plain lines otherwise. */
export function createDownloadProgressBar(
  options: DownloadProgressBarOptions = {},
): (progress: DownloadProgress) => void {
  const stream = options.stream ?? process.stderr;
  const terminal = stream.isTTY === true;
  const intervalMs = options.intervalMs ?? (terminal ? 200 : 2000);
  const now = options.now ?? Date.now;
  const width = options.width ?? 30;
  let lastDraw = -Infinity;
  let lastFile = -1;
  return (progress) => {
    const finished = progress.totalBytes !== null && progress.receivedBytes >= progress.totalBytes;
    const newFile = progress.fileIndex !== lastFile;
    const time = now();
    if (!finished && !newFile && time - lastDraw < intervalMs) return;
    if (newFile && terminal && lastFile !== -1) stream.write('\n');
    lastFile = progress.fileIndex;
    lastDraw = time;
    const line = formatDownloadProgress(progress, width);
    stream.write(terminal ? `\r${line}\x1b[K${finished ? '\n' : ''}` : `${line}\n`);
    if (finished) lastFile = -1;
  };
}
