/**
 * Mixed precision, Keras's `mixed_bfloat16` on the graph engine: the session runs TensorFlow's
 * own bfloat16 rewrite (Grappler's auto_mixed_precision_onednn_bfloat16), which computes the
 * matrix products and convolutions of the forward and backward passes in bfloat16 while the
 * variables, the optimizer's update and numerically delicate ops (losses, exp, log, the batch
 * statistics) stay float32: the weights the notebook saves and predicts with never change type.
 */
import * as fs from 'fs';

export type Precision = 'float32' | 'mixed_bfloat16';

/** ConfigProto { graph_options { rewrite_options { auto_mixed_precision_onednn_bfloat16: ON } } }. */
export const MIXED_BFLOAT16_CONFIG = Uint8Array.of(0x52, 0x05, 0x52, 0x03, 0xf8, 0x01, 0x01);

/** The CPU's bfloat16 instructions (AVX512-BF16, AMX-BF16), from /proc/cpuinfo (or GAN_NOTEBOOKS_CPU_FLAGS). */
export function bfloat16Instructions(): string[] {
  let flags = process.env.GAN_NOTEBOOKS_CPU_FLAGS;
  if (flags === undefined) {
    try {
      flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    } catch {
      flags = '';
    }
  }
  return flags.split(/\s+/).filter((flag) => flag === 'avx512_bf16' || flag === 'amx_bf16');
}

/**
 * The precision a step trains in: float32 unless mixed_bfloat16 is asked for and the CPU has
 * bfloat16 instructions (without them bfloat16 is emulated, slower than float32: `warn` says so).
 */
export function trainingPrecision(caller: string, requested: unknown, warn: (line: string) => void): Precision {
  if (requested === undefined || requested === 'float32') return 'float32';
  if (requested !== 'mixed_bfloat16') {
    throw new Error(
      `${caller}: options.precision must be 'float32' or 'mixed_bfloat16'; got ${JSON.stringify(requested)}.`,
    );
  }
  if (bfloat16Instructions().length > 0) return 'mixed_bfloat16';
  warn(
    `${caller}: this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16), so mixed_bfloat16 would ` +
      'run slower than float32; training in float32.',
  );
  return 'float32';
}
