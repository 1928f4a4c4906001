/**
 * The full-set download against a local HTTP server on 127.0.0.1 serving files this test
 * makes: success and resume, wrong checksum, a response that drops mid-way, a stalled
 * response, HTTP errors, an unreachable host; nothing corrupt is ever left in the data dir.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { freePort } from '../../tools/lab';
import { MNIST_FILES, loadMnist } from '../../lib/data';
import {
  MNIST_BASE_URL_ENV,
  MnistDownloadError,
  createDownloadProgressBar,
  downloadMnist,
  formatDownloadProgress,
  type DownloadProgress,
  type MnistFileSpec,
} from '../../tools/mnistDownload';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TEMP_ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-download-test-'));
let tempCount = 0;
function tempDir(): string {
  const dir = path.join(TEMP_ROOT, String(tempCount++));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function idxBytes(typeCode: number, dims: number[], values: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = typeCode;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

function md5(bytes: Uint8Array): string {
  return crypto.createHash('md5').update(bytes).digest('hex');
}

/** Four small gzip IDX files with the canonical names: 20 train and 6 test images. */
function makeFiles(): Map<string, Buffer> {
  const images = (count: number, seed: number) => {
    const pixels = new Uint8Array(count * 784);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed) % 256;
    return zlib.gzipSync(idxBytes(0x08, [count, 28, 28], pixels));
  };
  const labels = (count: number) =>
    zlib.gzipSync(
      idxBytes(
        0x08,
        [count],
        Uint8Array.from({ length: count }, (_, i) => i % 10),
      ),
    );
  return new Map([
    [MNIST_FILES.trainImages, images(20, 1)],
    [MNIST_FILES.trainLabels, labels(20)],
    [MNIST_FILES.testImages, images(6, 2)],
    [MNIST_FILES.testLabels, labels(6)],
  ]);
}

const FILES = makeFiles();
const SPECS: MnistFileSpec[] = [...FILES].map(([name, bytes]) => ({ name, md5: md5(bytes) }));
const CHECKSUMS = Object.fromEntries(SPECS.map((s) => [s.name, s.md5]));

/** How the server answers for one file. */
type Behaviour = 'ok' | 'wrong-content' | 'drop' | 'stall' | 'not-found';

let server: http.Server;
let baseUrl: string;
const behaviour = new Map<string, Behaviour>();
const requests: string[] = [];

before(async () => {
  server = http.createServer((request, response) => {
    const name = decodeURIComponent((request.url ?? '/').replace(/^\/mirror\//, ''));
    requests.push(name);
    const body = FILES.get(name);
    const mode = behaviour.get(name) ?? 'ok';
    if (body === undefined || mode === 'not-found') {
      response.writeHead(404).end('not here');
      return;
    }
    if (mode === 'wrong-content') {
      const other = Buffer.from(body);
      other[other.length - 1] ^= 0xff;
      response.writeHead(200, { 'content-length': other.length }).end(other);
    } else if (mode === 'drop') {
      // Promise the whole file, send half of it, then cut the connection.
      response.writeHead(200, { 'content-length': body.length });
      response.write(body.subarray(0, body.length >> 1), () => setTimeout(() => request.socket.destroy(), 20));
    } else if (mode === 'stall') {
      response.writeHead(200, { 'content-length': body.length });
      response.write(body.subarray(0, 10)); // then nothing: the client's timeout must fire
    } else {
      response.writeHead(200, { 'content-length': body.length }).end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror/`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(TEMP_ROOT, { recursive: true, force: true });
});

/** Every file under `dir`, relative (dot files included). */
function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => fs.statSync(path.join(dir, p)).isFile())
    .sort();
}

async function expectFailure(
  promise: Promise<unknown>,
  failure: MnistDownloadError['failure'],
): Promise<MnistDownloadError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof MnistDownloadError, `expected a MnistDownloadError, got ${String(caught)}`);
  assert.equal((caught as MnistDownloadError).failure, failure, (caught as Error).message);
  return caught as MnistDownloadError;
}

describe('downloadMnist', () => {
  it('downloads and verifies the four files, reports progress, leaves no temp files; a rerun skips them', async () => {
    behaviour.clear();
    const dataDir = tempDir();
    const progress: DownloadProgress[] = [];
    const result = await downloadMnist({ baseUrl, dataDir, files: SPECS, onProgress: (p) => progress.push({ ...p }) });
    const fullDir = path.join(dataDir, 'full');
    assert.equal(result.fullDir, fullDir);
    assert.deepEqual(
      result.downloaded,
      SPECS.map((s) => s.name),
    );
    assert.deepEqual(listFiles(dataDir), SPECS.map((s) => path.join('full', s.name)).sort());
    for (const [name, bytes] of FILES) assert.ok(fs.readFileSync(path.join(fullDir, name)).equals(bytes), name);
    // Progress: each file starts at 0 and ends at its size.
    for (const [index, spec] of SPECS.entries()) {
      const mine = progress.filter((p) => p.file === spec.name);
      assert.equal(mine[0].receivedBytes, 0);
      assert.equal(mine[mine.length - 1].receivedBytes, FILES.get(spec.name)?.length);
      assert.ok(
        mine.every((p) => p.fileIndex === index && p.fileCount === 4 && p.totalBytes === FILES.get(spec.name)?.length),
      );
    }
    // loadMnist now prefers the downloaded set.
    const data = loadMnist({ dataDir, checksums: CHECKSUMS, quiet: true });
    assert.equal(data.source, 'full');
    assert.deepEqual([data.train.count, data.test.count], [20, 6]);

    requests.length = 0;
    const again = await downloadMnist({ baseUrl, dataDir, files: SPECS });
    assert.deepEqual(
      again.skipped,
      SPECS.map((s) => s.name),
    );
    assert.deepEqual(again.downloaded, []);
    assert.deepEqual(requests, [], 'verified files are not fetched again');
  });

  it('rejects a file with the wrong checksum and keeps nothing of it', async () => {
    behaviour.clear();
    behaviour.set(MNIST_FILES.trainImages, 'wrong-content');
    const dataDir = tempDir();
    const error = await expectFailure(downloadMnist({ baseUrl, dataDir, files: SPECS }), 'checksum');
    assert.equal(error.file, MNIST_FILES.trainImages);
    assert.ok(error.message.includes(CHECKSUMS[MNIST_FILES.trainImages]), 'says the expected MD5');
    assert.deepEqual(listFiles(dataDir), []);
  });

  it('replaces a present file whose checksum is wrong', async () => {
    behaviour.clear();
    const dataDir = tempDir();
    const target = path.join(dataDir, 'full', MNIST_FILES.testLabels);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, 'corrupt');
    const result = await downloadMnist({ baseUrl, dataDir, files: SPECS });
    assert.ok(result.downloaded.includes(MNIST_FILES.testLabels));
    assert.ok(fs.readFileSync(target).equals(FILES.get(MNIST_FILES.testLabels) as Buffer));
  });

  it('survives a response that drops mid-way: nothing partial is kept, and a rerun completes', async () => {
    behaviour.clear();
    behaviour.set(MNIST_FILES.trainLabels, 'drop');
    const dataDir = tempDir();
    const error = await expectFailure(downloadMnist({ baseUrl, dataDir, files: SPECS }), 'incomplete');
    assert.equal(error.file, MNIST_FILES.trainLabels);
    assert.match(error.message, /run `npm run download-mnist` again/);
    // Only the file verified before the drop is there; no temporary or partial file.
    assert.deepEqual(listFiles(dataDir), [path.join('full', MNIST_FILES.trainImages)]);

    behaviour.clear();
    requests.length = 0;
    const result = await downloadMnist({ baseUrl, dataDir, files: SPECS });
    assert.deepEqual(result.skipped, [MNIST_FILES.trainImages]);
    assert.deepEqual(
      requests,
      SPECS.slice(1).map((s) => s.name),
      'resumes with the missing files only',
    );
    for (const [name, bytes] of FILES) assert.ok(fs.readFileSync(path.join(dataDir, 'full', name)).equals(bytes));
    assert.equal(loadMnist({ dataDir, checksums: CHECKSUMS, quiet: true }).source, 'full');
  });

  it('gives up on a stalled response after the timeout', async () => {
    behaviour.clear();
    behaviour.set(MNIST_FILES.trainImages, 'stall');
    const dataDir = tempDir();
    const started = Date.now();
    const error = await expectFailure(downloadMnist({ baseUrl, dataDir, files: SPECS, timeoutMs: 300 }), 'timeout');
    assert.ok(Date.now() - started < 5000);
    assert.match(error.message, /no data from 127\.0\.0\.1:\d+ for 0\.3 s after 10 bytes/);
    assert.deepEqual(listFiles(dataDir), []);
  });

  it('reports an HTTP error with the URL and another mirror to try', async () => {
    behaviour.clear();
    behaviour.set(MNIST_FILES.trainImages, 'not-found');
    const dataDir = tempDir();
    const error = await expectFailure(downloadMnist({ baseUrl, dataDir, files: SPECS }), 'http');
    assert.match(error.message, /HTTP 404/);
    assert.ok(error.message.includes(`${baseUrl}${MNIST_FILES.trainImages}`));
    assert.match(error.message, /--base-url/);
    assert.deepEqual(listFiles(dataDir), []);
  });

  it('fails fast with a clear message when the host cannot be reached', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const started = Date.now();
    const error = await expectFailure(
      downloadMnist({ baseUrl: `http://127.0.0.1:${port}/`, dataDir, files: SPECS }),
      'offline',
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    assert.match(error.message, /ECONNREFUSED/);
    assert.match(error.message, /no network access/);
    assert.match(error.message, /embedded 10,000-image test set/);
    assert.deepEqual(listFiles(dataDir), []);
  });

  it(`reads the base URL from $${MNIST_BASE_URL_ENV} when none is passed`, async () => {
    behaviour.clear();
    const saved = process.env[MNIST_BASE_URL_ENV];
    process.env[MNIST_BASE_URL_ENV] = baseUrl.replace(/\/$/, ''); // without the trailing slash
    try {
      const result = await downloadMnist({ dataDir: tempDir(), files: SPECS.slice(0, 1) });
      assert.equal(result.baseUrl, baseUrl);
      assert.deepEqual(result.downloaded, [SPECS[0].name]);
    } finally {
      if (saved === undefined) delete process.env[MNIST_BASE_URL_ENV];
      else process.env[MNIST_BASE_URL_ENV] = saved;
    }
  });

  it('removes temporary files left by a killed run, but not those of a live one', async () => {
    behaviour.clear();
    const dataDir = tempDir();
    const fullDir = path.join(dataDir, 'full');
    fs.mkdirSync(fullDir, { recursive: true });
    // PID 2^22 + 1 is above Linux's pid_max limit, so no process has it.
    const dead = `.tmp-${MNIST_FILES.trainImages}-${2 ** 22 + 1}-abcd1234`;
    const live = `.tmp-${MNIST_FILES.trainImages}-${process.pid}-abcd1234`;
    fs.writeFileSync(path.join(fullDir, dead), 'half');
    fs.writeFileSync(path.join(fullDir, live), 'writing');
    await downloadMnist({ baseUrl, dataDir, files: SPECS.slice(0, 1) });
    assert.deepEqual(
      listFiles(dataDir).sort(),
      [path.join('full', live), path.join('full', MNIST_FILES.trainImages)].sort(),
    );
  });
});

describe('download progress bar', () => {
  it('draws at most once per interval, always the start of each file and its end', () => {
    const writes: string[] = [];
    let clock = 0;
    const bar = createDownloadProgressBar({
      stream: { write: (t: string) => writes.push(t), isTTY: true },
      intervalMs: 200,
      now: () => clock,
    });
    const total = 1000;
    for (let file = 0; file < 2; file++) {
      for (let received = 0; received <= total; received += 1) {
        clock += 1; // 1 ms per event: 1,000 events over 1 s per file
        bar({ file: `f${file}`, fileIndex: file, fileCount: 2, receivedBytes: received, totalBytes: total });
      }
    }
    // Per file: the first event, one draw per 200 ms, and the end.
    assert.ok(writes.length >= 8 && writes.length <= 14, `${writes.length} draws`);
    const finals = writes.filter((w) => w.includes('100%'));
    assert.equal(finals.length, 2);
    assert.ok(finals.every((w) => w.startsWith('\r') && w.endsWith('\n')));
    assert.ok(writes.every((w) => !w.includes('\n') || w.endsWith('\n')));
  });

  it('formats a bar with percentage and sizes, or just bytes when the size is unknown', () => {
    const line = formatDownloadProgress(
      { file: 'a.gz', fileIndex: 1, fileCount: 4, receivedBytes: 4_956_160, totalBytes: 9_912_422 },
      10,
    );
    assert.equal(line, '[2/4] a.gz [#####-----] 49% 5.0 MB / 9.9 MB');
    assert.equal(
      formatDownloadProgress({ file: 'b.gz', fileIndex: 0, fileCount: 1, receivedBytes: 2048, totalBytes: null }),
      '[1/1] b.gz 2.0 kB',
    );
  });
});

describe('download-mnist command', () => {
  it('exits 1 with the offline message, writing nothing, when the mirror cannot be reached', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/download-mnist.ts',
        '--base-url',
        `http://127.0.0.1:${port}/`,
        '--data-dir',
        dataDir,
      ],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 60000,
      },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /no network access/);
    assert.match(run.stderr, /loadMnist\(\) uses it/);
    assert.deepEqual(listFiles(dataDir), []);
  });

  it('rejects an unknown argument with the usage', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/download-mnist.ts', '--bogus'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60000,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Unknown argument "--bogus"/);
    assert.match(run.stderr, /--base-url URL/);
  });
});
