/**
 * The bitwise context-mixing model (the architecture of Mahoney's PAQ8 and
 * lpaq1, written here from their published design):
 *
 *   byte -> 8 binary decisions, most significant bit first; c0 is the partial
 *   byte with a leading 1 (1..255), so each bit has a node in the byte's tree.
 *   For each bit:
 *     inputs  = stretch(p) of every context model's counter for (context, c0)
 *               (+ an indirect map of that counter per context, when enabled),
 *               the match model's two inputs, every byte model's bit
 *               probability, and a constant bias;
 *     layer 1 = one gated mixer per selector context (c0, c1, match length,
 *               how many contexts were seen before, bit position);
 *     layer 2 = a mixer over layer 1's stretched outputs (when there are several);
 *     APMs    = SSE refinements in order-0 and order-1 contexts, averaged in.
 *   The result is a 12-bit P(1) for the binary arithmetic coder.
 *
 * Integer arithmetic throughout (see logistic.ts, counter.ts, mixer.ts), so
 * encoder and decoder compute the same probabilities on every machine.
 */
import { Apm } from './apm.js';
import { ByteTreeInput, type ByteModel } from './byte-model.js';
import { SELECTOR_KINDS, type CmConfig, type ContextKind } from './cm-config.js';
import { NEXT, HISTORY_STATES } from './bit-history.js';
import { RATE, counterTable, updateCounter } from './counter.js';
import { HashedTable, hash2 } from './hashed-table.js';
import { STRETCH_TABLE } from './logistic.js';
import { MatchModel } from './match-model.js';
import { Mixer } from './mixer.js';
import { TextState } from './text-state.js';

const KIND_ID: Record<ContextKind, number> = { o1: 1, o2: 2, o3: 3, o4: 4, o5: 5, o6: 6, o7: 7, w1: 11, w2: 12, w3: 13, col: 21, above: 22, s2: 31, s3: 32, wc: 14 };
const BIAS = 256;

/**
 * A context slot: t[i] = 16-bit probability, t[i + 1] = bit-history state
 * (high byte) and update count (low byte, capped at limit <= 255).
 */
function updateSlot(t: Uint16Array, i: number, bit: number, limit: number): void {
  const p = t[i];
  const v = t[i + 1];
  const n = v & 255;
  t[i] = p + ((((bit ? 65535 : 0) - p) * RATE[n]) / 65536 | 0);
  t[i + 1] = (NEXT[((v >>> 8) << 1) | bit] << 8) | (n < limit ? n + 1 : n);
}

export class CmModel {
  readonly config: CmConfig;
  private readonly kinds: number[];
  private readonly nCtx: number;
  private readonly table: HashedTable;
  private readonly ctxHash: Int32Array; // per context, this byte's hash
  private readonly bucket: Int32Array; // per context, the current nibble's bucket base
  private readonly slot: Int32Array; // per context, the counter used for this bit
  private readonly order0 = counterTable(256);
  private readonly indirect: Uint16Array | null;
  private readonly indSlot: Int32Array;
  private readonly match: MatchModel | null;
  private readonly text = new TextState();
  private readonly trees: ByteTreeInput[];
  private readonly x: Int32Array; // mixer inputs
  private readonly nInputs: number;
  private readonly layer1: Mixer[];
  private readonly final: Mixer | null;
  private readonly x2: Int32Array; // final mixer inputs
  private readonly apm1: Apm | null;
  private readonly apm2: Apm | null;
  private readonly limit: number;
  private c0 = 1;
  private bitPos = 0;
  private node = 1; // node within the current nibble's tree, 1..15
  private c4 = 0; // last 4 bytes, most recent low
  private c8 = 0; // the 4 before those
  private known = 0; // contexts found in the hash table at the last nibble
  private readonly selectorIds: Int32Array;
  private matchBucket = 0; // the match model's length bucket, fixed for the byte

  constructor(config: CmConfig, byteModels: ByteModel[] = []) {
    this.config = config;
    this.limit = config.limit;
    this.kinds = config.contexts.map((k) => KIND_ID[k]);
    this.nCtx = this.kinds.length;
    this.table = new HashedTable(config.bucketBits);
    this.ctxHash = new Int32Array(this.nCtx);
    this.bucket = new Int32Array(this.nCtx);
    this.slot = new Int32Array(this.nCtx);
    this.indirect = config.indirect ? counterTable((this.nCtx + 1) * HISTORY_STATES) : null;
    this.indSlot = new Int32Array(this.nCtx + 1);
    this.match = config.match ? new MatchModel(config.match.windowBits, config.match.hashBits, config.match.minLength) : null;
    this.trees = byteModels.map((m) => new ByteTreeInput(m));
    this.nInputs = 1 + this.nCtx + (this.indirect ? this.nCtx + 1 : 0) + (this.match ? 2 : 0) + this.trees.length + 1;
    this.x = new Int32Array(this.nInputs);
    const init = Math.floor(65536 / 4);
    this.selectorIds = Int32Array.from(config.selectors, (s) => SELECTOR_KINDS.indexOf(s));
    this.layer1 = config.selectors.map((s) => new Mixer(this.nInputs, this.selectorSize(s), config.lr[0], init));
    if (this.layer1.length > 1) {
      this.x2 = new Int32Array(this.layer1.length + 1);
      this.final = new Mixer(this.layer1.length + 1, 256, config.lr[1], Math.floor(65536 / this.layer1.length));
    } else {
      this.x2 = new Int32Array(0);
      this.final = null;
    }
    this.apm1 = config.apm >= 1 ? new Apm(256, 7) : null;
    this.apm2 = config.apm >= 2 ? new Apm(65536, 7) : null;
    this.startByte();
  }

  /** Bytes of model memory (tables, buffers, weights). */
  get bytes(): number {
    let b = this.table.bytes + this.order0.byteLength + (this.indirect?.byteLength ?? 0) + (this.match?.bytes ?? 0);
    for (const m of this.layer1) b += m.w.byteLength;
    return b + (this.final?.w.byteLength ?? 0) + (this.apm2 ? 65536 * 66 : 0);
  }

  private selectorSize(s: string): number {
    switch (s) {
      case 'c0': return 256;
      case 'c1': return 256 * 8;
      case 'match': return 16 * 8;
      case 'known': return (this.nCtx + 1) * 8;
      default: return 8;
    }
  }

  private selector(i: number): number {
    switch (this.selectorIds[i]) {
      case 0: return this.c0;
      case 1: return ((this.c4 & 0xff) << 3) | this.bitPos;
      case 2: return (this.matchBucket << 3) | this.bitPos;
      case 3: return (this.known << 3) | this.bitPos;
      default: return this.bitPos;
    }
  }

  /** 12-bit probability that the next bit is 1. */
  p(): number {
    const x = this.x;
    const t = this.table.t;
    const c0 = this.c0;
    let k = 0;
    x[k++] = STRETCH_TABLE[this.order0[c0 * 2] >>> 4];
    const node2 = this.node * 2;
    for (let i = 0; i < this.nCtx; i++) {
      const s = this.bucket[i] + node2;
      this.slot[i] = s;
      x[k++] = STRETCH_TABLE[t[s] >>> 4];
    }
    const ind = this.indirect;
    if (ind) {
      for (let i = 0; i <= this.nCtx; i++) {
        const s = i === 0 ? c0 * 2 : this.slot[i - 1];
        const tt = i === 0 ? this.order0 : t;
        const j = (i * HISTORY_STATES + (tt[s + 1] >>> 8)) * 2;
        this.indSlot[i] = j;
        x[k++] = STRETCH_TABLE[ind[j] >>> 4];
      }
    }
    if (this.match) {
      this.match.predict(x, k, c0, this.bitPos);
      k += 2;
    }
    for (const tr of this.trees) x[k++] = tr.input(c0, this.bitPos);
    x[k++] = BIAS;

    let pr: number;
    if (this.final) {
      const x2 = this.x2;
      for (let i = 0; i < this.layer1.length; i++) {
        this.layer1[i].mix(x, this.selector(i));
        x2[i] = this.layer1[i].dot;
      }
      x2[this.layer1.length] = BIAS;
      pr = this.final.mix(x2, c0);
    } else {
      pr = this.layer1[0].mix(x, this.selector(0));
    }
    if (this.apm1) {
      const a1 = this.apm1.refine(pr, c0);
      if (this.apm2) {
        const a2 = this.apm2.refine(pr, c0 | ((this.c4 & 0xff) << 8));
        pr = (2 * pr + a1 + a2 * 1 + 2) >> 2;
      } else pr = (pr + a1 + 1) >> 1;
    }
    if (pr < 1) pr = 1;
    else if (pr > 4095) pr = 4095;
    return pr;
  }

  /** Learn the coded bit and move to the next. */
  update(bit: number): void {
    const t = this.table.t;
    const limit = this.limit;
    const c0 = this.c0;
    if (this.indirect) {
      for (let i = 0; i <= this.nCtx; i++) updateCounter(this.indirect, this.indSlot[i], bit, 1023);
    }
    updateSlot(this.order0, c0 * 2, bit, limit);
    for (let i = 0; i < this.nCtx; i++) updateSlot(t, this.slot[i], bit, limit);
    this.match?.updateBit(bit);
    for (const m of this.layer1) m.update(this.x, bit);
    if (this.final) this.final.update(this.x2, bit);
    this.apm1?.update(bit);
    this.apm2?.update(bit);

    this.c0 = (c0 << 1) | bit;
    this.bitPos++;
    this.node = (this.node << 1) | bit;
    if (this.bitPos === 8) {
      this.endByte(this.c0 & 0xff);
    } else if (this.bitPos === 4) {
      this.node = 1;
      this.lookup(this.c0);
    }
  }

  private endByte(byte: number): void {
    this.c8 = ((this.c8 << 8) | (this.c4 >>> 24)) >>> 0;
    this.c4 = ((this.c4 << 8) | byte) >>> 0;
    this.text.update(byte);
    this.match?.updateByte(byte);
    for (const tr of this.trees) tr.model.update(byte);
    this.startByte();
  }

  private startByte(): void {
    this.c0 = 1;
    this.bitPos = 0;
    this.node = 1;
    const c4 = this.c4;
    const tx = this.text;
    for (let i = 0; i < this.nCtx; i++) {
      const id = this.kinds[i];
      let h: number;
      switch (id) {
        case 1: h = c4 & 0xff; break;
        case 2: h = c4 & 0xffff; break;
        case 3: h = c4 & 0xffffff; break;
        case 4: h = c4; break;
        case 5: h = hash2(c4, this.c8 & 0xff); break;
        case 6: h = hash2(c4, this.c8 & 0xffff); break;
        case 7: h = hash2(c4, this.c8 & 0xffffff); break;
        case 11: h = tx.word0; break;
        case 12: h = hash2(tx.word0, tx.word1); break;
        case 13: h = hash2(hash2(tx.word0, tx.word1), tx.word2); break;
        case 14: h = hash2(tx.word0, c4 & 0xff); break;
        case 21: h = (tx.above << 16) | (tx.column > 255 ? 255 : tx.column); break;
        case 22: h = (tx.above << 8) | (c4 & 0xff); break;
        case 31: h = (c4 >>> 8) & 0xffff; break;
        default: h = (c4 >>> 8) & 0xffffff; break;
      }
      this.ctxHash[i] = hash2(h, id);
    }
    for (const tr of this.trees) tr.startByte();
    this.matchBucket = this.match ? this.match.lengthBucket : 0;
    this.lookup(0);
  }

  /** Locate every context's bucket for the nibble that starts now (c0: the high nibble once known). */
  private lookup(c0: number): void {
    let known = 0;
    const tab = this.table;
    for (let i = 0; i < this.nCtx; i++) {
      const h = c0 === 0 ? this.ctxHash[i] : hash2(this.ctxHash[i], c0);
      this.bucket[i] = tab.find(h);
      known += tab.found;
    }
    this.known = known;
  }
}
