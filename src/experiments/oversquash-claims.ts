// The paper's claims (Barbero et al., arXiv 2406.04267) judged by written
// rules on our numbers. Each rule is stated in the claim's `rule` text and
// computed here, so the report only shows verdicts it did not make.

import type { Precision } from '../engine/precision.js';
import { log2 } from '../engine/detmath.js';
import type { FamilyDistances } from '../lens/oversquash.js';
import type { SyntheticResult } from './oversquash-synthetic.js';
import type { TaskAccuracy, TaskName } from './oversquash-tasks.js';
import type { LmInfluence } from './oversquash-lm.js';

export interface Claim {
  id: string;
  /** What the paper says. */
  claim: string;
  /** The rule that decides it here. */
  rule: string;
  /** null: not measured in this run. */
  holds: boolean | null;
  evidence: string;
}

const fmt = (x: number): string => (x === 0 || !Number.isFinite(x) ? String(x) : Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toPrecision(3));
const mean = (a: number[]): number => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);

/** Least-squares slope of log y against log x over the points with y > 0. */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter(([x, y]) => x > 0 && y > 0);
  if (pts.length < 2) return NaN;
  const lx = pts.map(([x]) => log2(x));
  const ly = pts.map(([, y]) => log2(y));
  const mx = mean(lx);
  const my = mean(ly);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < lx.length; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) * (lx[i] - mx);
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/** Collapse lengths compare with "none" as later than any n. */
const later = (a: number | null, b: number | null): boolean => (a === null ? b !== null : b !== null && a > b);
const showCollapse = (c: number | null, nMax: number): string => (c === null ? `none up to ${nMax}` : `n = ${c}`);

export function syntheticClaims(s: SyntheticResult): Claim[] {
  const rows = s.curves.map((c) => {
    const first = c.mean[0];
    const end = c.mean[c.mean.length - 1];
    const slope = logLogSlope(s.ns, c.mean);
    // A distance of exactly 0 at the largest n (outputs bit-identical) is the strongest decay there is.
    return { c, first, end, slope, decays: end < first && (end === 0 || slope < 0) };
  });
  const tvSlope = logLogSlope(s.tvNs, s.tv.mean);
  const scales = [...new Set(s.curves.map((c) => c.scale))];
  return [
    ...scales.map((scale): Claim => {
      const rs = rows.filter((r) => r.c.scale === scale);
      const v = scale === 'inv-d' ? '1/d' : '1';
      return {
        id: `synthetic-decay-${scale}`,
        claim: `One attention layer (C.3), weights N(0, ${v}): the last-token L1 distance between lengths n and n+1 falls with n for every position encoding.`,
        rule: 'For every encoding, the seed-mean distance at the largest n is below that at the smallest n, and either its log-log least-squares slope (over the positive points) is negative or it reaches exactly 0.',
        holds: rs.every((r) => r.decays),
        evidence: rs.map((r) => `${r.c.encoding}: ${fmt(r.first)} → ${fmt(r.end)} (slope ${fmt(r.slope)})`).join('; '),
      };
    }),
    {
      id: 'tv-decay',
      claim: 'Softmax (C.4): the total variation caused by a fixed perturbation of the first 200 entries decays with n.',
      rule: 'The log-log slope of the seed-mean TV against n is at most −0.5 (the bound decays as 1/n).',
      holds: tvSlope <= -0.5,
      evidence: `TV ${fmt(s.tv.mean[0])} at n = ${s.tvNs[0]} → ${fmt(s.tv.mean[s.tv.mean.length - 1])} at n = ${s.tvNs[s.tvNs.length - 1]}; slope ${fmt(tvSlope)}`,
    },
  ];
}

function curve(f: FamilyDistances, p: Precision) {
  return f.curves.find((c) => c.precision === p) ?? null;
}

export function lmClaims(families: FamilyDistances[]): Claim[] {
  const by = (name: string) => families.find((f) => f.family === name) ?? null;
  const out: Claim[] = [];
  const last = (f: FamilyDistances, p: Precision) => {
    const c = curve(f, p);
    return c ? { linf: c.linf[c.linf.length - 1], collapse: c.collapse[c.collapse.length - 1] } : null;
  };
  const nMax = families.length ? families[0].ns[families[0].ns.length - 1] : 0;
  const ones = by('ones');
  const copy = by('copy');
  const commas = by('copy-commas');
  const digits = by('digits');
  // Convergence at fp32.
  const conv = [ones, copy].filter((f): f is FamilyDistances => f !== null).map((f) => {
    const l = last(f, 'fp32');
    return l ? { f, first: l.linf[0], end: l.linf[l.linf.length - 1], slope: logLogSlope(f.ns, l.linf) } : null;
  }).filter((x) => x !== null);
  out.push({
    id: 'lm-converge',
    claim: 'Representational collapse: the last-token states of v_n and v*_n (repeated ones) converge as n grows.',
    rule: 'In families ones and copy at fp32, the last layer\'s L∞ distance at the largest n is at most half that at the smallest n, and its log-log slope is negative.',
    holds: conv.length ? conv.every((x) => x.end <= x.first / 2 && x.slope < 0) : null,
    evidence: conv.map((x) => `${x.f.family}: ${fmt(x.first)} at n = ${x.f.ns[0]} → ${fmt(x.end)} at n = ${nMax} (slope ${fmt(x.slope)})`).join('; ') || 'not measured',
  });
  // bf16 against fp32.
  const prec = families.map((f) => ({ f, fp32: last(f, 'fp32'), bf16: last(f, 'bf16'), fp16: last(f, 'fp16') })).filter((x) => x.fp32 && x.bf16);
  out.push({
    id: 'lm-bf16-sooner',
    claim: 'Low precision makes the collapse happen: at bf16 the two states become identical at lengths where fp32 still tells them apart.',
    rule: 'In family ones, bf16\'s collapse length (last layer) exists and is smaller than fp32\'s (none counts as beyond the largest n).',
    holds: ones && last(ones, 'bf16') && last(ones, 'fp32') ? last(ones, 'bf16')!.collapse !== null && later(last(ones, 'fp32')!.collapse, last(ones, 'bf16')!.collapse) : null,
    evidence: prec.map((x) => `${x.f.family}: fp32 ${showCollapse(x.fp32!.collapse, nMax)}, bf16 ${showCollapse(x.bf16!.collapse, nMax)}${x.fp16 ? `, fp16 ${showCollapse(x.fp16.collapse, nMax)}` : ''}`).join('; ') || 'not measured',
  });
  const sepCmp = (a: FamilyDistances | null, b: FamilyDistances | null, id: string, claim: string, names: string) => {
    if (!a || !b || !last(a, 'bf16') || !last(b, 'bf16')) return out.push({ id, claim, rule: '', holds: null, evidence: 'not measured' });
    const la = last(a, 'bf16')!;
    const lb = last(b, 'bf16')!;
    const fa = last(a, 'fp32')!;
    const fb = last(b, 'fp32')!;
    const q = Math.max(1, Math.floor(a.ns.length / 4));
    const tailA = mean(fa.linf.slice(-q));
    const tailB = mean(fb.linf.slice(-q));
    out.push({
      id, claim,
      rule: `At bf16 ${names} collapses later than the baseline (none counts as beyond the largest n); if neither collapses, the fp32 last-layer L∞ over the largest quarter of n must be at least twice the baseline's.`,
      holds: la.collapse !== null || lb.collapse !== null ? later(la.collapse, lb.collapse) : tailA >= 2 * tailB,
      evidence: `${a.family}: bf16 ${showCollapse(la.collapse, nMax)}, fp32 tail L∞ ${fmt(tailA)}; ${b.family}: bf16 ${showCollapse(lb.collapse, nMax)}, fp32 tail L∞ ${fmt(tailB)}`,
    });
  };
  sepCmp(commas, copy, 'lm-commas', 'Separators (a comma every third digit) keep the representations apart.', 'copy-commas');
  sepCmp(digits, ones, 'lm-digits', 'Varied digits delay the collapse.', 'digits');
  return out;
}

/** Early tokens against the middle, for one kind of model (`id` and `model` name it). */
export function influenceClaim(inf: LmInfluence[], id = 'influence-early', model = ''): Claim {
  const rows = inf.map((x) => {
    const T = x.values.length;
    const q = Math.max(1, Math.floor(T / 4));
    return { x, early: mean(x.values.slice(0, q)), late: mean(x.values.slice(Math.floor(T / 2), Math.floor(T / 2) + q)) };
  });
  return {
    id,
    claim: `Early tokens have more paths to the last token, so more influence on it${model ? ` (${model})` : ''}.`,
    rule: 'For every curve, the mean gradient norm over the first quarter of positions exceeds that over the quarter starting at the middle (the last positions, with their direct residual path, are left out).',
    holds: rows.length ? rows.every((r) => r.early > r.late) : null,
    evidence: rows.map((r) => `${r.x.family} (n = ${r.x.n}): first quarter ${fmt(r.early)}, from the middle ${fmt(r.late)}, last position ${fmt(r.x.values[r.x.values.length - 1])}`).join('; ') || 'not measured',
  };
}

export function taskClaims(tasks: TaskAccuracy[]): Claim[] {
  const beyond = (t: TaskAccuracy, p: Precision, sep: 0 | 1, paper = false) => {
    const a = paper ? t.patternAccuracy[p] : t.accuracy[p];
    if (!a) return NaN;
    const idx = t.evalNs.map((n, k) => (n > t.trainMax ? k : -1)).filter((k) => k >= 0);
    return mean(idx.map((k) => a[sep][k]));
  };
  const get = (name: TaskName) => tasks.find((t) => t.task === name) ?? null;
  const out: Claim[] = [];
  const coll = tasks.map((t) => ({ t, fp32: t.distances.curves.find((c) => c.precision === 'fp32'), bf16: t.distances.curves.find((c) => c.precision === 'bf16') })).filter((x) => x.fp32 && x.bf16);
  const lastOf = (c: { collapse: Array<number | null> }) => c.collapse[c.collapse.length - 1];
  out.push({
    id: 'tasks-bf16-collapse',
    claim: 'With attention that decays with distance (ALiBi), the last-token states of n and n+1 repeated ones become identical at low precision, sooner than at fp32.',
    rule: 'For every trained task model, bf16\'s collapse length (last layer, BOS + ones) exists and is smaller than fp32\'s (none counts as beyond the largest n).',
    holds: coll.length ? coll.every((x) => lastOf(x.bf16!) !== null && later(lastOf(x.fp32!), lastOf(x.bf16!))) : null,
    evidence: coll.map((x) => `${x.t.task}: fp32 ${showCollapse(lastOf(x.fp32!), x.t.distances.ns[x.t.distances.ns.length - 1])}, bf16 ${showCollapse(lastOf(x.bf16!), x.t.distances.ns[x.t.distances.ns.length - 1])}`).join('; ') || 'not measured',
  });
  const low = tasks.filter((t) => t.accuracy.bf16 && t.accuracy.fp32);
  out.push({
    id: 'tasks-precision',
    claim: 'Counting and copying the last token fail at low precision where fp32 still succeeds.',
    rule: 'For copy-last or count, the accuracy beyond the training length (mean over those lengths, no separators), on random strings or on the paper\'s strings, is at least 5 points lower at bf16 than at fp32.',
    holds: low.length ? low.filter((t) => t.task !== 'copy-first').some((t) => [false, true].some((pp) => beyond(t, 'bf16', 0, pp) <= beyond(t, 'fp32', 0, pp) - 0.05)) : null,
    evidence: low.map((t) => `${t.task}: fp32 ${fmt(beyond(t, 'fp32', 0))}, bf16 ${fmt(beyond(t, 'bf16', 0))}${t.accuracy.fp16 ? `, fp16 ${fmt(beyond(t, 'fp16', 0))}` : ''} (paper's strings: fp32 ${fmt(beyond(t, 'fp32', 0, true))}, bf16 ${fmt(beyond(t, 'bf16', 0, true))})`).join('; ') || 'not measured',
  });
  const cl = get('copy-last');
  const cf = get('copy-first');
  out.push({
    id: 'tasks-first-vs-last',
    claim: 'Copying the first token holds up better than copying the last one (the paper\'s Gemini observation).',
    rule: 'At fp32, no separators, on the paper\'s strings (b1…1 against 1…1b), copy-first\'s accuracy beyond the training length exceeds copy-last\'s.',
    holds: cl && cf ? beyond(cf, 'fp32', 0, true) > beyond(cl, 'fp32', 0, true) : null,
    evidence: cl && cf ? `paper's strings: copy-first ${fmt(beyond(cf, 'fp32', 0, true))}, copy-last ${fmt(beyond(cl, 'fp32', 0, true))}; random strings: ${fmt(beyond(cf, 'fp32', 0))} and ${fmt(beyond(cl, 'fp32', 0))}` : 'not measured',
  });
  out.push({
    id: 'tasks-commas',
    claim: 'A comma after every third digit helps counting and copying.',
    rule: 'For some task, the bf16 accuracy beyond the training length, on random strings or on the paper\'s strings, is at least 5 points higher with commas than without.',
    holds: low.length ? low.some((t) => [false, true].some((pp) => beyond(t, 'bf16', 1, pp) >= beyond(t, 'bf16', 0, pp) + 0.05)) : null,
    evidence: low.map((t) => `${t.task}: without ${fmt(beyond(t, 'bf16', 0))}, with commas ${fmt(beyond(t, 'bf16', 1))} (paper's strings: ${fmt(beyond(t, 'bf16', 0, true))} and ${fmt(beyond(t, 'bf16', 1, true))})`).join('; ') || 'not measured',
  });
  return out;
}
