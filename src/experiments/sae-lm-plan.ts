// Which SAEs a sae-lm run trains, and their names: a TopK k sweep at every
// hook point; at the first (primary) hook also TopK with and without AuxK at
// several widths, BatchTopK and ReLU-L1. A name says hook, kind, k or L1 and
// width (resid1-topk-k32-n4096), so files and reports read without the config.

import { DEFAULT_TRAIN, type SaeTrainConfig } from '../lens/sae/config.js';
import type { SaeLmConfig } from './sae-lm.js';

export function defaultHooks(nLayers: number): string[] {
  const mid = Math.floor((nLayers - 1) / 2), last = nLayers - 1;
  return [...new Set([`blocks.${mid}.hook_resid_post`, `blocks.${last}.hook_resid_post`, `blocks.${mid}.hook_mlp_out`])];
}

/** A hook's short name for file names: blocks.1.hook_resid_post → resid1, blocks.2.hook_mlp_out → mlp2. */
export function hookShort(hook: string): string {
  const m = /^blocks\.(\d+)\.hook_(resid_post|resid_pre|resid_mid|mlp_out|attn_out)$/.exec(hook);
  if (!m) return hook.replace(/[^A-Za-z0-9]+/g, '_');
  const kind = { resid_post: 'resid', resid_pre: 'residpre', resid_mid: 'residmid', mlp_out: 'mlp', attn_out: 'attn' }[m[2]]!;
  return `${kind}${m[1]}`;
}

export interface Plan {
  name: string;
  hook: number;
  cfg: SaeTrainConfig;
}

export function plans(c: SaeLmConfig, hooks: string[], d: number[]): Plan[] {
  const base: SaeTrainConfig = { ...DEFAULT_TRAIN, lr: c.lr, batch: c.batch, tokens: c.tokens, deadWindow: c.deadWindow, seed: c.seed, medianSample: Math.min(2048, Math.floor(c.bufferRows / 2)) };
  const out: Plan[] = [];
  const add = (h: number, cfg: SaeTrainConfig, tail = '') => {
    const n = Math.round(cfg.expansion * d[h]);
    const what = cfg.arch === 'relu' ? `relu-l1-${cfg.l1}` : `${cfg.arch}-k${cfg.k}`;
    const name = `${hookShort(hooks[h])}-${what}-n${n}${tail}`;
    if (!out.some((p) => p.name === name)) out.push({ name, hook: h, cfg });
  };
  hooks.forEach((_, h) => {
    for (const k of [...c.ks].sort((a, b) => a - b)) add(h, { ...base, arch: 'topk', k, expansion: c.expansion, auxk: true });
  });
  for (const e of c.auxkExpansions) {
    add(0, { ...base, arch: 'topk', k: c.primaryK, expansion: e, auxk: true });
    add(0, { ...base, arch: 'topk', k: c.primaryK, expansion: e, auxk: false }, '-noauxk');
  }
  if (c.batchTopK) add(0, { ...base, arch: 'batchtopk', k: c.primaryK, expansion: c.expansion, auxk: true });
  for (const l1 of c.reluL1s) add(0, { ...base, arch: 'relu', l1, expansion: c.expansion, auxk: false });
  return out;
}
