/**
 * A minimal protocol-buffer writer: just the wire types TensorFlow's GraphDef, AttrValue,
 * TensorProto and SavedModel messages need (varint, 32-bit float, length-delimited).
 * Messages are built bottom-up: a nested message is encoded first and written as bytes.
 */

const textEncoder = new TextEncoder();

export class ProtoWriter {
  /** Small values byte by byte, then whole byte arrays (a constant's content) as they are. */
  private chunks: Array<number | Uint8Array> = [];

  private varint(value: number | bigint): void {
    // Negative int64 values are written as ten-byte two's complement, as protobuf requires.
    let remaining = BigInt.asUintN(64, BigInt(value));
    while (remaining >= 0x80n) {
      this.chunks.push(Number(remaining & 0x7fn) | 0x80);
      remaining >>= 7n;
    }
    this.chunks.push(Number(remaining));
  }

  private tag(field: number, wireType: 0 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  /** int32, int64, bool and enum fields. */
  int(field: number, value: number | bigint | boolean): this {
    this.tag(field, 0);
    this.varint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    for (const byte of bytes) this.chunks.push(byte);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated varint field (proto3's default for repeated scalars). */
  packedInts(field: number, values: ReadonlyArray<number | bigint>): this {
    const inner = new ProtoWriter();
    for (const value of values) inner.varint(value);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const size = this.chunks.reduce<number>((sum, chunk) => sum + (typeof chunk === 'number' ? 1 : chunk.length), 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const chunk of this.chunks) {
      if (typeof chunk === 'number') out[at++] = chunk;
      else {
        out.set(chunk, at);
        at += chunk.length;
      }
    }
    return out;
  }
}
