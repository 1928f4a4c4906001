/**
 * Downloads the full MNIST set (60,000 train + 10,000 test images) into data/mnist/full.
 *
 *   npm run download-mnist [-- --base-url URL] [--data-dir DIR]
 *   npx tsx scripts/download-mnist.ts [--base-url URL] [--data-dir DIR]
 *
 * Checksums are verified before a file is kept; rerunning skips verified files. Offline it
 * stops at once with a message (the embedded test set keeps working without it).
 */
import * as path from 'node:path';
import {
  DEFAULT_MNIST_BASE_URL,
  MNIST_BASE_URL_ENV,
  MnistDownloadError,
  createDownloadProgressBar,
  downloadMnist,
} from '../tools/mnistDownload';
import { DEFAULT_MNIST_DIR, loadMnist } from '../lib/data/mnist';

const shownDefaultDataDir = path.relative(process.cwd(), DEFAULT_MNIST_DIR) || '.';
const USAGE = `Usage: npx tsx scripts/download-mnist.ts [--base-url URL] [--data-dir DIR]

Downloads the four canonical MNIST files into DIR/full and verifies their MD5 checksums.
  --base-url URL   folder URL of a mirror (default: $${MNIST_BASE_URL_ENV}, else ${DEFAULT_MNIST_BASE_URL})
  --data-dir DIR   the MNIST data folder (default: ${shownDefaultDataDir}); files go to DIR/full
  --timeout SEC    give up when no data arrives for SEC seconds (default 30)`;

function parseArgs(argv: string[]): { baseUrl?: string; dataDir?: string; timeoutMs?: number } {
  const parsed: { baseUrl?: string; dataDir?: string; timeoutMs?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value.\n\n${USAGE}`);
      return v;
    };
    if (flag === '--base-url') parsed.baseUrl = value();
    else if (flag === '--data-dir') parsed.dataDir = path.resolve(value());
    else if (flag === '--timeout') {
      const seconds = Number(value());
      if (!(seconds > 0)) throw new Error(`--timeout must be a positive number of seconds.\n\n${USAGE}`);
      parsed.timeoutMs = seconds * 1000;
    } else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`Unknown argument ${JSON.stringify(argv[i])}.\n\n${USAGE}`);
  }
  return parsed;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const result = await downloadMnist({
    ...args,
    onProgress: createDownloadProgressBar(),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(
    `MNIST full set ready in ${result.fullDir} ` +
      `(${result.downloaded.length} downloaded, ${result.skipped.length} already there).`,
  );
  // Read it back as loadMnist will: proves the files parse, and shows which data notebooks now get.
  const data = loadMnist({ dataDir: args.dataDir, quiet: true });
  console.log(data.notice);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`\n${err instanceof MnistDownloadError ? '' : 'download-mnist: '}${message}\n`);
  process.exit(1);
});
