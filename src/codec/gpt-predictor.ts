/**
 * The transformer compressor's predictor (container format 1): a byte-level GPT that
 * learns while it codes, mixed with the order-3 count model.
 *
 * Token stream. u = [0, b_0, b_1, ...]: a virtual byte 0 starts the stream
 * so the first byte has a context. Byte b_i is predicted from the tokens of
 * u up to u_i.
 *
 * Windows and segments (C = model.contextLength, S = train.segment):
 * the KV cache (IncrementalGPT) holds at most C positions. Every S bytes, at
 * a segment boundary, the predictor
 *   1. trains: `steps` AdamW steps on a batch made of the current window
 *      (the last min(C, n) tokens and their next-byte targets) plus `replay`
 *      windows of C tokens drawn from the last `history` bytes, loss on every
 *      position, global-norm clipping (gpt-online-training.ts);
 *   2. re-primes the cache with the last C - S + 1 tokens under the new weights.
 * Between boundaries each byte is one cached step. So every byte sees at
 * least C - S + 1 tokens of context (once that many exist), and the weights
 * change only at boundaries that depend on the byte count alone: never on
 * the container's chunking, the input's splitting or the thread count.
 *
 * Mixing. The final distribution is a GeometricMixer of the GPT's
 * log-softmax and the count model's log-probabilities, one of 16 weight sets
 * picked by how confident each is. Early on the mixer leans on the counts
 * (a count-based warm start); as the transformer learns it gains weight.
 * Level 1 is the count model alone.
 *
 * Static mode: the GPT comes from a checkpoint and never trains (the counts
 * and mixer still adapt); the header records the checkpoint's SHA-256.
 *
 * The whole configuration lives in the container header (see GptCodecConfig),
 * so a decoder needs only the file (and, in static mode, the checkpoint).
 *
 * The parts live beside this file: the header schema (gpt-header.ts), the
 * level table (gpt-levels.ts), the mixing of the experts
 * (gpt-expert-mix.ts) and the online training (gpt-online-training.ts).
 */
import { CountPredictor } from './count-predictor.js';
import { ExpertMix } from './gpt-expert-mix.js';
import { parseGptCodecConfig, type GptCodecConfig } from './gpt-header.js';
import { HighOrderContexts } from './gpt-contexts.js';
import { lnApprox } from './gpt-mixer.js';
import { OnlineTrainer } from './gpt-online-training.js';
import type { Predictor } from './predictor.js';
import { GPT } from '../nn/gpt.js';
import { IncrementalGPT } from '../nn/gpt-incremental.js';
import { LOG2E } from '../engine/constants.js';

const N = 256;

export class GptPredictor implements Predictor {
  readonly config: GptCodecConfig;
  readonly counts: CountPredictor;
  readonly contexts: HighOrderContexts | null;
  readonly model: GPT | null;
  private readonly inc: IncrementalGPT | null;
  /** null: the order-3 counts alone, nothing to mix. */
  private readonly mix: ExpertMix | null;
  /** null: no GPT, or a fixed one (static mode). */
  private readonly trainer: OnlineTrainer | null;
  /** The last `history` tokens of u, by index mod history. */
  private readonly ring: Uint8Array;
  private readonly segment: number;
  private readonly C: number;
  private logits: Float32Array | null = null;
  private lastP: Float32Array;
  private n = 0;
  /** Sum of -log2 p(byte) over the bytes observed, from the probabilities handed to the coder (before quantisation). */
  bits = 0;

  /** `model`: a ready model for static mode (its weights loaded from the checkpoint). */
  constructor(config: GptCodecConfig, model?: GPT) {
    this.config = config;
    this.counts = new CountPredictor(config.counts);
    this.contexts = config.contexts ? new HighOrderContexts(config.contexts) : null;
    const mc = config.model;
    if (mc) {
      this.model = model ?? new GPT(mc);
      const c = this.model.config;
      if (c.vocabSize !== 256 || c.contextLength !== mc.contextLength || c.dModel !== mc.dModel || c.nLayers !== mc.nLayers || c.nHeads !== mc.nHeads || c.dMlp !== mc.dMlp || c.tieWeights !== mc.tieWeights) {
        throw new Error(`the model (${JSON.stringify(c)}) does not match the one recorded in the file (${JSON.stringify(mc)})`);
      }
      this.C = c.contextLength;
      this.inc = new IncrementalGPT(this.model);
    } else {
      this.model = this.inc = null;
      this.C = 0;
    }
    const t = config.train;
    const residual = !!(config.mixer && config.mixer.layers === 2 && this.model && t?.residual);
    this.mix = config.mixer && (this.contexts || this.model) ? new ExpertMix(config.mixer, this.contexts, this.model !== null, residual) : null;
    this.segment = t ? t.segment : Math.max(1, this.C >> 1);
    this.ring = new Uint8Array(!this.model ? 0 : t ? t.history : this.C + 1);
    this.trainer = this.model && t ? new OnlineTrainer(this.model, t, residual) : null;
    this.lastP = new Float32Array(N);
    if (this.inc) this.logits = this.inc.push(0); // u_0 = 0, the virtual start byte
  }

  /** Bytes observed so far. */
  get bytesSeen(): number {
    return this.n;
  }

  /** Training steps taken so far. */
  get stepsTaken(): number {
    return this.trainer?.step ?? 0;
  }

  /** Seconds spent in training steps (for benchmarks). */
  get trainSeconds(): number {
    return this.trainer?.seconds ?? 0;
  }

  predict(): Float32Array {
    const pc = this.counts.predict();
    if (!this.mix) return (this.lastP = pc);
    this.lastP = this.mix.predict(pc, this.logits);
    if (this.trainer?.residual) this.trainer.recordCountMix(this.n, this.mix.countMix);
    return this.lastP;
  }

  observe(byte: number): void {
    // Code length of this byte under what predict() returned (the coder quantises it; this is for progress reports).
    const p = this.lastP;
    let s = 0;
    for (let i = 0; i < N; i++) s += p[i];
    this.bits += (lnApprox(s) - lnApprox(p[byte])) * LOG2E;
    this.counts.observe(byte);
    this.contexts?.observe(byte);
    this.mix?.update(byte);
    const n = ++this.n;
    if (!this.inc) return;
    this.ring[n % this.ring.length] = byte; // u_n = b_{n-1}
    if (n % this.segment === 0) {
      if (this.trainer) {
        this.trainer.train(this.ring, n);
        this.inc.refresh();
      }
      const keep = Math.min(n + 1, this.C - this.segment + 1);
      const toks = new Int32Array(keep);
      for (let i = 0; i < keep; i++) toks[i] = this.ring[(n + 1 - keep + i) % this.ring.length];
      this.inc.reset();
      this.logits = this.inc.pushMany(toks);
    } else {
      this.logits = this.inc.push(byte);
    }
  }

  endChunk(): void {}
}

/**
 * A PredictorFactory for files written with a GptCodecConfig header.
 * `staticModel(config)` supplies the checkpoint's model in static mode (it
 * must check config.checkpoint.sha256 against the checkpoint it loads;
 * staticModelFor in static-model.ts does).
 */
export function gptPredictorFactory(staticModel?: (config: GptCodecConfig) => GPT): (raw: Record<string, unknown>) => GptPredictor {
  return (raw) => {
    const config = parseGptCodecConfig(raw);
    if (config.checkpoint) {
      if (!staticModel) throw new Error(`this file was compressed with a fixed model (checkpoint sha256 ${config.checkpoint.sha256}); pass that checkpoint as the model (--model on the command line)`);
      return new GptPredictor(config, staticModel(config));
    }
    return new GptPredictor(config);
  };
}
