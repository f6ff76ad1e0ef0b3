/**
 * Mini-batches for training: each epoch visits a fresh seeded permutation of the data and yields floor(N / batch)
 * batches (the remainder of a permutation is dropped, as a drop-last loader does). The iterator's whole state (epoch,
 * position, the RNG words that produced the current permutation) fits in a checkpoint, so a resumed run sees the same
 * batches as an uninterrupted one.
 */
import { Rng, type RngState } from "../rng.ts";

export interface BatchSource {
  size: number;
  images(indices: Int32Array, out?: Float32Array): Float32Array;
}

export interface BatchIteratorState {
  epoch: number;
  /** Batches already taken from the current epoch. */
  position: number;
  /** RNG state before the current epoch's permutation was drawn. */
  epochRng: RngState;
  batchSize: number;
  size: number;
}

export class BatchIterator {
  epoch = 0;
  private position = 0;
  private perm: Int32Array;
  private epochRng: RngState;
  private readonly rng: Rng;
  readonly batchesPerEpoch: number;

  constructor(
    readonly data: { size: number; images(indices: Int32Array): Float32Array },
    readonly batchSize: number,
    rng: Rng,
  ) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batch size must be > 0, got ${batchSize}`);
    if (!(data.size >= batchSize)) {
      throw new Error(`dataset has ${data.size} images, fewer than one batch of ${batchSize}`);
    }
    this.rng = rng;
    this.batchesPerEpoch = Math.floor(data.size / batchSize);
    this.epochRng = rng.state();
    this.perm = rng.permutation(data.size);
  }

  /** The next batch (images NHWC from the source, and their dataset indices); a new epoch reshuffles. */
  next(): { images: Float32Array; indices: Int32Array } {
    if (this.position >= this.batchesPerEpoch) {
      this.epoch++;
      this.position = 0;
      this.epochRng = this.rng.state();
      this.perm = this.rng.permutation(this.data.size);
    }
    const s = this.position * this.batchSize;
    const indices = this.perm.slice(s, s + this.batchSize);
    this.position++;
    return { images: this.data.images(indices), indices };
  }

  state(): BatchIteratorState {
    return {
      epoch: this.epoch,
      position: this.position,
      epochRng: this.epochRng,
      batchSize: this.batchSize,
      size: this.data.size,
    };
  }

  /** An iterator that continues exactly where `state` was taken. */
  static restore(data: BatchSource, state: BatchIteratorState): BatchIterator {
    if (state.size !== data.size) throw new Error(`batch state is for ${state.size} images, dataset has ${data.size}`);
    const it = new BatchIterator(data, state.batchSize, new Rng(state.epochRng));
    it.epoch = state.epoch;
    it.position = state.position;
    return it;
  }
}
