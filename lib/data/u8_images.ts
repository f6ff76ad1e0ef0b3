/**
 * A cached image set on disk: count x h x w x c uint8 pixels in one file, mapped to floats in [lo, hi] on read. Held in
 * memory when under 1 GiB, read per image otherwise (the 200,000-image teapot set is 2.4 GB).
 */
export class U8Images {
  private mem: Uint8Array | null = null;
  private file: Deno.FsFile | null = null;
  private readonly buf: Uint8Array;
  readonly pixels: number;

  constructor(
    readonly path: string,
    readonly count: number,
    readonly shape: [number, number, number],
    readonly range: [number, number] = [0, 1],
  ) {
    this.pixels = shape[0] * shape[1] * shape[2];
    this.buf = new Uint8Array(this.pixels);
    const bytes = count * this.pixels;
    try {
      if (bytes <= 1 << 30) this.mem = Deno.readFileSync(path);
      else this.file = Deno.openSync(path, { read: true });
    } catch (e) {
      throw new Error(`image cache ${path}: cannot read: ${(e as Error).message}`);
    }
    const len = this.mem ? this.mem.length : this.file!.statSync().size;
    if (len !== bytes) throw new Error(`image cache ${path}: ${len} bytes, expected ${bytes} (${count} images)`);
  }

  /** Whether the pixels were read into memory (the file may then be removed). */
  get inMemory(): boolean {
    return this.mem !== null;
  }

  /** Images of `indices`, NHWC floats in `range`, into `out` when given. */
  read(indices: Int32Array, out?: Float32Array): Float32Array {
    const P = this.pixels;
    const dst = out ?? new Float32Array(indices.length * P);
    if (dst.length < indices.length * P) throw new Error(`${this.path}: out too small for ${indices.length} images`);
    const [lo, hi] = this.range;
    const k = (hi - lo) / 255;
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i];
      if (!(idx >= 0 && idx < this.count)) throw new Error(`${this.path}: index ${idx} out of [0, ${this.count})`);
      let src: Uint8Array;
      if (this.mem) src = this.mem.subarray(idx * P, idx * P + P);
      else {
        this.file!.seekSync(idx * P, Deno.SeekMode.Start);
        let got = 0;
        while (got < P) {
          const r = this.file!.readSync(this.buf.subarray(got));
          if (r === null) throw new Error(`${this.path}: unexpected end of file at image ${idx}`);
          got += r;
        }
        src = this.buf;
      }
      const o = i * P;
      for (let p = 0; p < P; p++) dst[o + p] = lo + src[p] * k;
    }
    return dst;
  }

  close(): void {
    this.file?.close();
    this.file = null;
  }
}

/** Renames finished temp files into place, the manifest last, so a manifest on disk means its data is complete. */
export async function commitFiles(pairs: [tmp: string, final: string][]): Promise<void> {
  for (const [tmp, final] of pairs) await Deno.rename(tmp, final);
}
