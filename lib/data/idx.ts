/**
 * IDX files (the MNIST format): a 4-byte magic number (0, 0, data type, rank), one big-endian
 * uint32 per dimension, then the values, row-major. MNIST's files hold unsigned bytes (type
 * 0x08), the only type read here. Files may be gzip-compressed; gzip is recognised by its own
 * magic bytes (1f 8b), not by the file name.
 *
 * Everything is validated before anything is returned: a damaged file throws an IdxFormatError
 * naming the file, the field, what was expected and what was found; never a partial result.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** A parsed IDX file of bytes. `data` is a fresh array (not a view of the input) of product(dims) values. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** What the caller requires of a file; a mismatch is an IdxFormatError. */
export interface IdxExpectation {
  /** The whole 32-bit magic number, e.g. 2051 (0x00000803) for MNIST images. Default: any valid one. */
  magic?: number;
  /** Required dimensions; `null` leaves one free (e.g. [null, 28, 28] for images). Default: any. */
  dims?: Array<number | null>;
}

/** What an IdxFormatError advises unless the caller gives its own hint. */
const DAMAGED_FILE_HINT =
  'The file is damaged or not an MNIST IDX file: delete it and download it again (npm run download-mnist), ' +
  'or restore data/mnist from git.';

/** A file that is not the IDX data it should be. `field` names the part that is wrong. */
export class IdxFormatError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    readonly found: string,
    hint = DAMAGED_FILE_HINT,
  ) {
    super(`${file}: ${field}: expected ${expected}, found ${found}. ${hint}`);
    this.name = 'IdxFormatError';
  }
}

/** IDX magic numbers of the MNIST files. */
export const IDX_MAGIC = { images: 0x00000803, labels: 0x00000801 } as const;

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')} (${value >>> 0})`;
}

/** Parses IDX bytes (already decompressed). `sourceName` appears in every error message. */
export function parseIdx(bytes: Uint8Array, sourceName: string, expected: IdxExpectation = {}): IdxArray {
  const fail = (field: string, wanted: string, found: string) => new IdxFormatError(sourceName, field, wanted, found);
  if (bytes.length < 4) throw fail('magic', 'a 4-byte IDX header', `${bytes.length} bytes in the whole file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw fail('magic', 'the first two bytes to be 0 (an IDX file)', hex(magic));
  if (bytes[2] !== 0x08) {
    const found = `0x${bytes[2].toString(16).padStart(2, '0')}`;
    throw fail('magic (data type byte)', '0x08 (unsigned bytes, as in MNIST)', found);
  }
  if (expected.magic !== undefined && magic !== expected.magic) throw fail('magic', hex(expected.magic), hex(magic));
  const rank = bytes[3];
  if (rank === 0) throw fail('rank', 'at least 1', '0');
  const dimensions = `(dimensions [${(expected.dims ?? []).map((d) => d ?? 'any').join(', ')}])`;
  if (expected.dims !== undefined && rank !== expected.dims.length) {
    throw fail('rank', `${expected.dims.length} ${dimensions}`, String(rank));
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    const wanted = `at least ${headerLength} bytes for the header of a rank-${rank} file`;
    throw fail('byte length', wanted, `${bytes.length} bytes (truncated)`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const size = view.getUint32(4 + 4 * i, false);
    const want = expected.dims?.[i];
    if (want !== undefined && want !== null && size !== want)
      throw fail(`dimension ${i}`, `${want} ${dimensions}`, String(size));
    dims.push(size);
  }
  const expectedLength = headerLength + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expectedLength) {
    const what = bytes.length < expectedLength ? 'truncated' : 'extra bytes at the end';
    const wanted = `${expectedLength} bytes (header ${headerLength} + ${dims.join('x')} values of 1 byte)`;
    throw fail('byte length', wanted, `${bytes.length} bytes (${what})`);
  }
  return { dims, data: new Uint8Array(bytes.subarray(headerLength)) };
}

/** Reads an IDX file, gzip-compressed or raw (detected by the magic bytes 1f 8b). */
export function readIdxFile(filePath: string, expected: IdxExpectation = {}): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new IdxFormatError(
      filePath,
      'file',
      'a readable file',
      code === 'ENOENT' ? 'no such file' : code,
      'Check the path; the embedded test set lives in data/mnist (restore it from git), ' +
        'the full set in data/mnist/full (npm run download-mnist).',
    );
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes);
    } catch (err) {
      throw new IdxFormatError(filePath, 'gzip stream', 'a complete gzip stream', (err as Error).message);
    }
  }
  return parseIdx(bytes, filePath, expected);
}
