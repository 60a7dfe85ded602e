/**
 * The seam for byte-level models (a transformer, a pretrained language-model
 * prior, ...) inside the bitwise mixer. Such a model predicts a distribution
 * over the 256 values of the next byte; the mixer needs, for each bit, the
 * probability that it is 1 given the bits already known. Along the binary
 * tree of the byte that is a ratio of sums:
 *     P(bit = 1 | prefix) = sum of P over bytes with that prefix and a 1 next
 *                         / sum of P over bytes with that prefix
 * To keep this bit-exact on every machine the distribution is first
 * quantised to integers (so floats enter once, through a deterministic
 * rounding), and the ratio is an integer division.
 */
import { quantizeProbs } from '../quantize.js';
import { STRETCH_TABLE } from './logistic.js';

/** A model of the next byte that learns from each byte it is shown. */
export interface ByteModel {
  /** Distribution over the 256 values of the next byte (need not be normalised; Uint16Array: integer weights). */
  predict(): Float32Array | Uint16Array;
  /** The byte that came. */
  update(byte: number): void;
  /** Optional: called at the end of each container chunk (a learning step for models that batch). */
  endChunk?(chunk: Uint8Array): void | Promise<void>;
}

/** Turns a ByteModel's distribution into one stretch-domain mixer input per bit. */
export class ByteTreeInput {
  private readonly freqs = new Uint32Array(256);
  /** cum[i] = sum of freqs[0..i): the tree's sums are differences of it. */
  private readonly cum = new Float64Array(257);

  constructor(readonly model: ByteModel) {}

  /** At a byte boundary: fetch and quantise the model's distribution. */
  startByte(): void {
    const p = this.model.predict();
    if (p.length !== 256) throw new Error(`byte model returned ${p.length} values, expected 256`);
    const f = this.freqs;
    if (p instanceof Uint16Array) for (let s = 0; s < 256; s++) f[s] = p[s] + 1;
    else quantizeProbs(p, 16, f);
    const cum = this.cum;
    cum[0] = 0;
    for (let s = 0; s < 256; s++) cum[s + 1] = cum[s] + f[s];
  }

  /** 12-bit P(next bit = 1) given partial byte c0 (leading 1, bitPos bits known). */
  probability(c0: number, bitPos: number): number {
    const width = 256 >>> bitPos;
    const lo = (c0 - (1 << bitPos)) * width; // first byte value with this prefix
    const mid = lo + (width >>> 1);
    const total = this.cum[lo + width] - this.cum[lo];
    const ones = this.cum[lo + width] - this.cum[mid];
    let p = Math.floor((ones * 4096) / total); // integers below 2^41: exact
    if (p < 1) p = 1;
    else if (p > 4095) p = 4095;
    return p;
  }

  /** The mixer input for the next bit. */
  input(c0: number, bitPos: number): number {
    return STRETCH_TABLE[this.probability(c0, bitPos)];
  }
}
