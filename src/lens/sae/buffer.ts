// Activations from one hook point of a model, streamed through a bounded,
// shuffled buffer. A forward pass yields B·T activations from neighbouring
// tokens of the same sequences; training on them in order would correlate
// every batch. The buffer holds at most `capacity` rows, refills from the
// model when it falls to half, and shuffles (seeded) after every refill.

import { noGrad } from '../../engine/tensor.js';
import { Rng, type RngState } from '../../engine/rng.js';
import { Hooks, type HookedModel } from '../../nn/hooks.js';

/** A batch of token sequences [B, T] (row-major). */
export interface TokenBatch {
  tokens: Int32Array;
  B: number;
  T: number;
}

/** Throws a one-line error when `hook` is not a hook point of `model`, listing the valid ones, so a typo is fixed without reading the model's code. */
export function checkHook(model: HookedModel, hook: string): void {
  const names = model.hookNames();
  if (!names.includes(hook)) throw new Error(`unknown hook point "${hook}"; valid: ${names.join(', ')}`);
}

/** The activations at `hook` for a batch as rows [B·T, d], where d is everything after the [B, T] axes. */
export function hookActivations(model: HookedModel, hook: string, batch: TokenBatch): { rows: Float32Array; d: number } {
  checkHook(model, hook);
  const hooks = new Hooks({ cache: [hook] });
  noGrad(() => model.forward(batch.tokens, batch.B, batch.T, { hooks }));
  const v = hooks.cache.get(hook)!;
  if (v.ndim < 3 || v.shape[0] !== batch.B || v.shape[1] !== batch.T) {
    throw new Error(`hook point "${hook}" has shape [${v.shape.join(',')}], not [B, T, ...]: an SAE reads one vector per token`);
  }
  return { rows: v.data, d: v.size / (batch.B * batch.T) };
}

/**
 * Where a buffer stands between two draws: the rows it holds (in their
 * shuffled order), the next source batch, and its shuffle generator's
 * position. Loading it into a buffer built on the same model, hooks, source
 * and seed gives the same draws from then on as the buffer it was taken from.
 */
export interface BufferState {
  /** The held rows, count × (sum of widths). */
  rows: Float32Array;
  count: number;
  batchIndex: number;
  tokensRead: number;
  rng: RngState;
}

function takeState(store: Float32Array, count: number, width: number, batchIndex: number, tokensRead: number, rng: Rng): BufferState {
  return { rows: store.slice(0, count * width), count, batchIndex, tokensRead, rng: rng.state() };
}

function checkState(s: BufferState, width: number, capacity: number): void {
  if (!Number.isInteger(s.count) || s.count < 0 || s.count > capacity) throw new Error(`activation buffer: saved state holds ${s.count} rows, outside 0..${capacity}`);
  if (s.rows.length !== s.count * width) throw new Error(`activation buffer: saved state has ${s.rows.length} values for ${s.count} rows of width ${width}`);
  if (!Number.isSafeInteger(s.batchIndex) || s.batchIndex < 0 || !Number.isSafeInteger(s.tokensRead) || s.tokensRead < 0) throw new Error('activation buffer: saved state has a bad batch index or token count');
}

export class ActivationBuffer {
  readonly d: number;
  readonly capacity: number;
  private readonly store: Float32Array;
  private count = 0;
  private batchIndex = 0;
  private readonly rng: Rng;
  /** Activations drawn from the model so far. */
  tokensRead = 0;

  /**
   * @param source the i-th batch of token sequences (i = 0, 1, ...), deterministic in i
   * @param capacity rows held at most (memory = capacity · d floats)
   */
  constructor(
    private readonly model: HookedModel,
    readonly hook: string,
    private readonly source: (i: number) => TokenBatch,
    capacity: number,
    seed: number,
  ) {
    checkHook(model, hook);
    const probe = source(0);
    const { d } = hookActivations(model, hook, probe);
    if (probe.B * probe.T * 2 > capacity) throw new Error(`activation buffer: capacity ${capacity} must hold at least two source batches of ${probe.B * probe.T} activations`);
    this.d = d;
    this.capacity = capacity;
    this.store = new Float32Array(capacity * d);
    this.rng = Rng.derive(seed, `sae/buffer/${hook}`);
  }

  /** Rows currently held (never more than capacity). */
  get size(): number {
    return this.count;
  }

  /** A copy of where the buffer stands (see BufferState). */
  state(): BufferState {
    return takeState(this.store, this.count, this.d, this.batchIndex, this.tokensRead, this.rng);
  }

  /** Goes on from state(), taken from a buffer built with the same arguments. */
  loadState(s: BufferState): void {
    checkState(s, this.d, this.capacity);
    this.store.set(s.rows);
    this.count = s.count;
    this.batchIndex = s.batchIndex;
    this.tokensRead = s.tokensRead;
    this.rng.setState(s.rng);
  }

  private refill(): void {
    const d = this.d;
    for (;;) {
      const batch = this.source(this.batchIndex);
      const rows = batch.B * batch.T;
      if (this.count + rows > this.capacity) break;
      this.batchIndex++;
      const { rows: acts, d: got } = hookActivations(this.model, this.hook, batch);
      if (got !== d) throw new Error(`activation buffer: hook "${this.hook}" changed width from ${d} to ${got}`);
      this.store.set(acts, this.count * d);
      this.count += rows;
      this.tokensRead += rows;
    }
    // Fisher-Yates over rows, from the end down, with the buffer's own stream.
    const tmp = new Float32Array(d);
    for (let i = this.count - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      if (i === j) continue;
      tmp.set(this.store.subarray(i * d, (i + 1) * d));
      this.store.copyWithin(i * d, j * d, (j + 1) * d);
      this.store.set(tmp, j * d);
    }
  }

  /** The next m activations [m, d], a fresh array. m may be at most half the capacity. */
  next(m: number): Float32Array {
    if (!Number.isInteger(m) || m < 1 || 2 * m > this.capacity) throw new Error(`activation buffer: batch ${m} must be in [1, ${this.capacity / 2}] (half the capacity)`);
    if (this.count < this.capacity / 2 || this.count < m) this.refill();
    const d = this.d;
    this.count -= m;
    return this.store.slice(this.count * d, (this.count + m) * d);
  }
}

/**
 * The activations at several hook points of the same tokens, through one
 * bounded, shuffled buffer: one forward pass caches every hook, and a row
 * keeps its hooks together through the shuffle, so SAEs at different hook
 * points can train in lockstep on the same tokens with the model run once.
 */
export class MultiHookBuffer {
  /** Width of each hook's activations, in the order of `hooks`. */
  readonly widths: number[];
  readonly capacity: number;
  private readonly offsets: number[];
  private readonly width: number;
  private readonly store: Float32Array;
  private count = 0;
  private batchIndex = 0;
  private readonly rng: Rng;
  /** Tokens drawn from the model so far. */
  tokensRead = 0;

  constructor(
    private readonly model: HookedModel,
    readonly hooks: readonly string[],
    private readonly source: (i: number) => TokenBatch,
    capacity: number,
    seed: number,
  ) {
    if (hooks.length === 0) throw new Error('activation buffer: no hook points');
    for (const h of hooks) checkHook(model, h);
    if (new Set(hooks).size !== hooks.length) throw new Error(`activation buffer: a hook point is listed twice (${hooks.join(', ')})`);
    const probe = source(0);
    if (probe.B * probe.T * 2 > capacity) throw new Error(`activation buffer: capacity ${capacity} must hold at least two source batches of ${probe.B * probe.T} activations`);
    this.widths = this.read(probe).map((r) => r.d);
    this.offsets = [];
    let w = 0;
    for (const d of this.widths) {
      this.offsets.push(w);
      w += d;
    }
    this.width = w;
    this.capacity = capacity;
    this.store = new Float32Array(capacity * w);
    this.rng = Rng.derive(seed, `sae/multibuffer/${hooks.join('|')}`);
  }

  private read(batch: TokenBatch): Array<{ rows: Float32Array; d: number }> {
    const hooks = new Hooks({ cache: this.hooks });
    noGrad(() => this.model.forward(batch.tokens, batch.B, batch.T, { hooks }));
    return this.hooks.map((h) => {
      const v = hooks.cache.get(h)!;
      if (v.ndim < 3 || v.shape[0] !== batch.B || v.shape[1] !== batch.T) throw new Error(`hook point "${h}" has shape [${v.shape.join(',')}], not [B, T, ...]: an SAE reads one vector per token`);
      return { rows: v.data, d: v.size / (batch.B * batch.T) };
    });
  }

  get size(): number {
    return this.count;
  }

  /** A copy of where the buffer stands (see BufferState). */
  state(): BufferState {
    return takeState(this.store, this.count, this.width, this.batchIndex, this.tokensRead, this.rng);
  }

  /** Goes on from state(), taken from a buffer built with the same arguments. */
  loadState(s: BufferState): void {
    checkState(s, this.width, this.capacity);
    this.store.set(s.rows);
    this.count = s.count;
    this.batchIndex = s.batchIndex;
    this.tokensRead = s.tokensRead;
    this.rng.setState(s.rng);
  }

  private refill(): void {
    const W = this.width;
    for (;;) {
      const batch = this.source(this.batchIndex);
      const rows = batch.B * batch.T;
      if (this.count + rows > this.capacity) break;
      this.batchIndex++;
      const acts = this.read(batch);
      acts.forEach(({ rows: a, d }, h) => {
        if (d !== this.widths[h]) throw new Error(`activation buffer: hook "${this.hooks[h]}" changed width from ${this.widths[h]} to ${d}`);
        const off = this.offsets[h];
        for (let r = 0; r < rows; r++) this.store.set(a.subarray(r * d, (r + 1) * d), (this.count + r) * W + off);
      });
      this.count += rows;
      this.tokensRead += rows;
    }
    const tmp = new Float32Array(W);
    for (let i = this.count - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      if (i === j) continue;
      tmp.set(this.store.subarray(i * W, (i + 1) * W));
      this.store.copyWithin(i * W, j * W, (j + 1) * W);
      this.store.set(tmp, j * W);
    }
  }

  /** The next m tokens' activations, one fresh [m, d_h] array per hook. m may be at most half the capacity. */
  next(m: number): Float32Array[] {
    if (!Number.isInteger(m) || m < 1 || 2 * m > this.capacity) throw new Error(`activation buffer: batch ${m} must be in [1, ${this.capacity / 2}] (half the capacity)`);
    if (this.count < this.capacity / 2 || this.count < m) this.refill();
    const W = this.width;
    this.count -= m;
    const base = this.count;
    return this.widths.map((d, h) => {
      const out = new Float32Array(m * d);
      const off = this.offsets[h];
      for (let r = 0; r < m; r++) out.set(this.store.subarray((base + r) * W + off, (base + r) * W + off + d), r * d);
      return out;
    });
  }
}
