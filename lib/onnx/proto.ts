/**
 * A minimal Protocol Buffers wire-format writer: exactly what an ONNX ModelProto needs (varints, length-delimited
 * strings/bytes/messages, packed repeated int64 and float, fixed32 floats). Fields are written in the order they are
 * added; protobuf readers accept any order.
 *
 * A message is kept as a list of byte chunks, so that embedding a message or a large byte field (tens of megabytes of
 * weights) costs no copy until `finish` joins everything once.
 *
 * Wire types: 0 = varint, 2 = length-delimited, 5 = 32-bit.
 */

const encoder = new TextEncoder();

export class ProtoWriter {
  private parts: Uint8Array[] = [];
  private size = 0;
  /** Small writes (tags, varints, floats) collect here until a chunk is appended. */
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.parts.push(Uint8Array.from(this.scratch));
    this.size += this.scratch.length;
    this.scratch = [];
  }

  private append(chunk: Uint8Array): void {
    this.flushScratch();
    this.parts.push(chunk);
    this.size += chunk.length;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.size + this.scratch.length;
  }

  /**
   * An unsigned varint. Negative int64 values are written as their 64-bit two's complement (10 bytes), as protobuf
   * does for `int64` fields.
   */
  private rawVarint(value: number | bigint): void {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new Error(`varint: ${value} is not an integer`);
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wireType: 0 | 2 | 5): void {
    this.rawVarint((field << 3) | wireType);
  }

  /** An int32/int64/enum field. */
  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.rawVarint(value);
    return this;
  }

  /** A `float` field (fixed 32-bit, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.scratch.push(...b);
    return this;
  }

  /** A bytes field. The writer keeps a reference to `value` until `finish`: do not modify it meanwhile. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.rawVarint(value.length);
    this.append(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  /** An embedded message (its chunks are shared, not copied). */
  message(field: number, value: ProtoWriter): this {
    value.flushScratch();
    this.tag(field, 2);
    this.rawVarint(value.size);
    this.flushScratch();
    for (const p of value.parts) this.parts.push(p);
    this.size += value.size;
    return this;
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    inner.flushScratch();
    return this.message(field, inner);
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  /** All bytes written, joined into one new array. */
  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
