// The shipped byte-level LM under the over-squashing lens: the four prompt
// families of Figure 5 of Barbero et al. (arXiv 2406.04267), scaled to a
// 128-byte context, the influence of each position on the last token, and
// what the precision mode costs against the fp32 forward.

import { noGrad } from '../engine/tensor.js';
import { Rng } from '../engine/rng.js';
import { withPrecision, type Precision } from '../engine/precision.js';
import type { GPT } from '../nn/gpt.js';
import { lastTokenDistances, influenceByPosition, type PairFamily, type FamilyDistances } from '../lens/oversquash.js';

const bytes = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

export const COUNT_PROMPT = 'How many ones are there? ';
export const COPY_PROMPT = 'Copy the following number: ';

/** Digits with a comma after every third one (between groups): 1111 → 111,1. */
export function withCommas(digits: string): string {
  let out = '';
  for (let i = 0; i < digits.length; i++) out += (i > 0 && i % 3 === 0 ? ',' : '') + digits[i];
  return out;
}

function family(name: string, text: (n: number) => string, separators: string[] = []): PairFamily {
  return {
    name,
    separators: separators.map((c) => c.charCodeAt(0)),
    pair: (n) => {
      if (!Number.isInteger(n) || n < 1) throw new Error(`family ${name}: n must be a positive integer, got ${n}`);
      return { v: Int32Array.from(bytes(text(n))), vStar: Int32Array.from(bytes(text(n + 1))) };
    },
  };
}

/**
 * The four families, n counting digits: (a) a counting prompt and n ones;
 * (b) n−1 random digits and a one against the same with a second one; (c) a
 * copy prompt and n ones; (d) as (c) with a comma after every third digit.
 */
export function lmFamilies(seed: number, nMax: number): PairFamily[] {
  const rng = Rng.derive(seed, 'oversquash/lm/digits');
  const digits = Array.from({ length: nMax + 1 }, () => String(rng.int(10))).join('');
  return [
    family('ones', (n) => COUNT_PROMPT + '1'.repeat(n)),
    {
      ...family('digits', () => ''),
      pair: (n) => {
        if (!Number.isInteger(n) || n < 1) throw new Error(`family digits: n must be a positive integer, got ${n}`);
        const base = digits.slice(0, n - 1);
        return { v: Int32Array.from(bytes(base + '1')), vStar: Int32Array.from(bytes(base + '11')) };
      },
    },
    family('copy', (n) => COPY_PROMPT + '1'.repeat(n)),
    family('copy-commas', (n) => COPY_PROMPT + withCommas('1'.repeat(n)), [',']),
  ];
}

export interface LmInfluence {
  family: string;
  n: number;
  text: string;
  /** ‖∂h_L(last)/∂e_i‖_F at each byte position. */
  values: number[];
}

export interface PrecisionCost {
  /** What was timed. */
  shape: string;
  reps: number;
  /** Median forward time, milliseconds. */
  ms: Record<Precision, number>;
  /** ms / ms(fp32). */
  ratio: Record<Precision, number>;
}

/** Median forward time of the model on [B, T] at each precision, reps interleaved so load drifts hit all alike. */
export function precisionCost(model: GPT, B: number, T: number, reps: number, precisions: readonly Precision[]): PrecisionCost {
  const tokens = new Int32Array(B * T);
  const rng = Rng.derive(1, 'oversquash/cost');
  for (let i = 0; i < tokens.length; i++) tokens[i] = 32 + rng.int(95);
  const times = new Map<Precision, number[]>(precisions.map((p) => [p, []]));
  const all: Precision[] = ['fp32', ...precisions.filter((p) => p !== 'fp32')];
  for (const p of all) noGrad(() => withPrecision(p, () => model.forward(tokens, B, T))); // warm-up
  for (let r = 0; r < reps; r++) {
    for (const p of all) {
      const t0 = performance.now();
      noGrad(() => withPrecision(p, () => model.forward(tokens, B, T)));
      const dt = performance.now() - t0;
      if (!times.has(p)) times.set(p, []);
      times.get(p)!.push(dt);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const ms = {} as Record<Precision, number>;
  const ratio = {} as Record<Precision, number>;
  for (const p of all) ms[p] = median(times.get(p)!);
  for (const p of all) ratio[p] = ms[p] / ms.fp32;
  return { shape: `[${B}, ${T}]`, reps, ms, ratio };
}

export interface LmOversquash {
  model: string;
  sha256: string;
  context: number;
  families: FamilyDistances[];
  influence: LmInfluence[];
  seconds: number;
}

/** Every family's distances at ns, and the influence curve of families ones and digits at the largest n. */
export function lmOversquash(model: GPT, ns: number[], precisions: readonly Precision[], seed: number, influence: boolean): { families: FamilyDistances[]; influence: LmInfluence[] } {
  const nMax = Math.max(...ns);
  const fams = lmFamilies(seed, nMax);
  const C = model.config.contextLength;
  const families = fams.map((f) => lastTokenDistances(model, f, ns, { precisions, contextLength: C }));
  const inf: LmInfluence[] = [];
  if (influence) {
    for (const f of fams.filter((x) => x.name === 'ones' || x.name === 'digits')) {
      const v = f.pair(nMax).v;
      inf.push({ family: f.name, n: nMax, text: String.fromCharCode(...v), values: influenceByPosition(model, v) });
    }
  }
  return { families, influence: inf };
}

