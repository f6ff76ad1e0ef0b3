/**
 * NumPy's .npy arrays and .npz archives (a zip of .npy files, stored or deflated), read without Python: enough for the
 * original dSprites archive. Big entries are streamed (`DecompressionStream("deflate-raw")`) so a caller can pack them
 * as they arrive instead of holding gigabytes. A small writer exists for tests and caches.
 */

export type NpyDtype = "|u1" | "|i1" | "<i2" | "<u2" | "<i4" | "<u4" | "<i8" | "<f4" | "<f8" | "|b1";

export interface NpyHeader {
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the data from the start of the .npy bytes. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Parses the header of a .npy file (`bytes` needs only the first few hundred bytes). */
export function parseNpyHeader(bytes: Uint8Array, what = "npy"): NpyHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error(`${what}: not a .npy array (bad magic)`);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number, start: number;
  if (major === 1) [hlen, start] = [dv.getUint16(8, true), 10];
  else if (major === 2 || major === 3) [hlen, start] = [dv.getUint32(8, true), 12];
  else throw new Error(`${what}: unsupported .npy version ${major}`);
  if (bytes.length < start + hlen) throw new Error(`${what}: truncated .npy header`);
  const text = new TextDecoder().decode(bytes.subarray(start, start + hlen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${what}: cannot parse .npy header ${JSON.stringify(text)}`);
  return {
    dtype: descr[1],
    fortranOrder: fortran[1] === "True",
    shape: shape[1].split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number),
    dataOffset: start + hlen,
  };
}

export function dtypeSize(dtype: string): number {
  const m = /^[<|=]?[uifb](\d+)$/.exec(dtype);
  if (!m) throw new Error(`unsupported .npy dtype ${dtype}`);
  return Number(m[1]);
}

export interface NpyArray {
  dtype: string;
  shape: number[];
  /** Values as float64 (int64 converted; fine for class ids and factor values). */
  data: Float64Array;
}

/** Reads a whole (small) .npy array into float64 values. */
export function readNpy(bytes: Uint8Array, what = "npy"): NpyArray {
  const h = parseNpyHeader(bytes, what);
  if (h.fortranOrder) throw new Error(`${what}: Fortran-ordered arrays are not supported`);
  if (h.dtype.startsWith(">")) throw new Error(`${what}: big-endian dtype ${h.dtype} is not supported`);
  const n = h.shape.reduce((a, b) => a * b, 1);
  const size = dtypeSize(h.dtype);
  if (bytes.length < h.dataOffset + n * size) {
    throw new Error(`${what}: truncated data (${bytes.length - h.dataOffset} bytes, need ${n * size})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, n * size);
  const out = new Float64Array(n);
  const kind = h.dtype.replace(/^[<|=]/, "");
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (kind) {
      case "u1":
      case "b1":
        out[i] = dv.getUint8(o);
        break;
      case "i1":
        out[i] = dv.getInt8(o);
        break;
      case "i2":
        out[i] = dv.getInt16(o, true);
        break;
      case "u2":
        out[i] = dv.getUint16(o, true);
        break;
      case "i4":
        out[i] = dv.getInt32(o, true);
        break;
      case "u4":
        out[i] = dv.getUint32(o, true);
        break;
      case "i8":
        out[i] = Number(dv.getBigInt64(o, true));
        break;
      case "u8":
        out[i] = Number(dv.getBigUint64(o, true));
        break;
      case "f4":
        out[i] = dv.getFloat32(o, true);
        break;
      case "f8":
        out[i] = dv.getFloat64(o, true);
        break;
      default:
        throw new Error(`${what}: unsupported dtype ${h.dtype}`);
    }
  }
  return { dtype: h.dtype, shape: h.shape, data: out };
}

/** Encodes values as a version-1 .npy file. */
export function encodeNpy(data: ArrayLike<number>, shape: number[], dtype: "|u1" | "<f4" | "<f8" | "<i8"): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const size = dtypeSize(dtype);
  const out = new Uint8Array(10 + header.length + data.length * size);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const o0 = 10 + header.length;
  for (let i = 0; i < data.length; i++) {
    const o = o0 + i * size;
    if (dtype === "|u1") out[o] = data[i];
    else if (dtype === "<f4") dv.setFloat32(o, data[i], true);
    else if (dtype === "<f8") dv.setFloat64(o, data[i], true);
    else dv.setBigInt64(o, BigInt(Math.round(data[i])), true);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Zip (the .npz container)

export interface ZipEntry {
  name: string;
  method: number; // 0 stored, 8 deflate
  compressedSize: number;
  size: number;
  /** Offset of the entry's compressed bytes in the archive. */
  dataOffset: number;
}

/** Lists a zip archive's entries from its central directory (zip64 sizes and offsets included). */
export function zipEntries(zip: Uint8Array, what = "zip"): ZipEntry[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${what}: not a zip/.npz archive (no end-of-central-directory record)`);
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw new Error(`${what}: broken zip64 locator`);
    const z64 = Number(dv.getBigUint64(loc + 8, true));
    count = Number(dv.getBigUint64(z64 + 32, true));
    cdOffset = Number(dv.getBigUint64(z64 + 48, true));
  }
  const out: ZipEntry[] = [];
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > zip.length || dv.getUint32(p, true) !== 0x02014b50) {
      throw new Error(`${what}: corrupt central directory`);
    }
    const method = dv.getUint16(p + 10, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true), xlen = dv.getUint16(p + 30, true), clen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nlen));
    // zip64 extra field: the 0xffffffff fields follow in the order usize, csize, offset.
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = dv.getUint16(x, true), len = dv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (usize === 0xffffffff) [usize, q] = [Number(dv.getBigUint64(q, true)), q + 8];
        if (csize === 0xffffffff) [csize, q] = [Number(dv.getBigUint64(q, true)), q + 8];
        if (local === 0xffffffff) local = Number(dv.getBigUint64(q, true));
      }
      x += 4 + len;
    }
    if (local + 30 > zip.length || dv.getUint32(local, true) !== 0x04034b50) {
      throw new Error(`${what}: corrupt local header for ${name}`);
    }
    const lnl = dv.getUint16(local + 26, true), lxl = dv.getUint16(local + 28, true);
    const dataOffset = local + 30 + lnl + lxl;
    if (dataOffset + csize > zip.length) throw new Error(`${what}: entry ${name} is truncated`);
    out.push({ name, method, compressedSize: csize, size: usize, dataOffset });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

/** The uncompressed bytes of an entry as a stream of chunks. */
export function zipEntryStream(zip: Uint8Array, e: ZipEntry, what = "zip"): ReadableStream<Uint8Array> {
  const raw = zip.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
  const source = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(c) {
      // Hand the bytes over in slices so the inflater yields output incrementally.
      for (let i = 0; i < raw.length; i += 1 << 20) c.enqueue(raw.slice(i, Math.min(raw.length, i + (1 << 20))));
      c.close();
    },
  });
  if (e.method === 0) return source;
  if (e.method === 8) {
    return source.pipeThrough(
      new DecompressionStream("deflate-raw") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  throw new Error(`${what}: entry ${e.name} uses unsupported compression method ${e.method}`);
}

/** The whole uncompressed bytes of an entry (for small entries). */
export async function zipEntryBytes(zip: Uint8Array, e: ZipEntry, what = "zip"): Promise<Uint8Array> {
  const out = new Uint8Array(e.size);
  let o = 0;
  for await (const chunk of zipEntryStream(zip, e, what)) {
    if (o + chunk.length > out.length) throw new Error(`${what}: entry ${e.name} inflates past its declared size`);
    out.set(chunk, o);
    o += chunk.length;
  }
  if (o !== out.length) throw new Error(`${what}: entry ${e.name} is truncated (${o} of ${out.length} bytes)`);
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function deflateRaw(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/**
 * Builds a zip archive (what `np.savez` / `np.savez_compressed` write), entries stored or deflated. With `zip64`, the
 * central directory marks sizes as 0xffffffff and carries them in a zip64 extra field, as Python's zipfile does for
 * entries over 2 GiB (the original dSprites `imgs` is 3 GB inflated).
 */
export async function buildZip(
  files: Record<string, Uint8Array>,
  compress: boolean,
  opts: { zip64?: boolean } = {},
): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [], centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const nb = enc.encode(name);
    const body = compress ? await deflateRaw(data) : data;
    const crc = crc32(data);
    const lh = new Uint8Array(30 + nb.length);
    const l = new DataView(lh.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true);
    l.setUint16(8, compress ? 8 : 0, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, body.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, nb.length, true);
    lh.set(nb, 30);
    const x64 = opts.zip64 ? 20 : 0;
    const ch = new Uint8Array(46 + nb.length + x64);
    const c = new DataView(ch.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 45, true);
    c.setUint16(6, 20, true);
    c.setUint16(10, compress ? 8 : 0, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, opts.zip64 ? 0xffffffff : body.length, true);
    c.setUint32(24, opts.zip64 ? 0xffffffff : data.length, true);
    c.setUint16(28, nb.length, true);
    c.setUint16(30, x64, true);
    c.setUint32(42, offset, true);
    ch.set(nb, 46);
    if (opts.zip64) {
      const x = 46 + nb.length;
      c.setUint16(x, 0x0001, true);
      c.setUint16(x + 2, 16, true);
      c.setBigUint64(x + 4, BigInt(data.length), true);
      c.setBigUint64(x + 12, BigInt(body.length), true);
    }
    locals.push(lh, body);
    centrals.push(ch);
    offset += lh.length + body.length;
  }
  const cdSize = centrals.reduce((a, b) => a + b.length, 0);
  const end = new Uint8Array(22);
  const d = new DataView(end.buffer);
  d.setUint32(0, 0x06054b50, true);
  d.setUint16(8, centrals.length, true);
  d.setUint16(10, centrals.length, true);
  d.setUint32(12, cdSize, true);
  d.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let o = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}
