// A sweep's SPEC: which experiment, the settings every run shares, and the
// settings that vary (a grid, a seeded random search, or both: every grid
// point times every random sample). Settings are written as on the command
// line (by path or flag name, values as text or YAML/JSON scalars), and the
// experiment's settings table is the schema: each value goes through
// `applyOverrides`/`resolveConfig`, so a sweep accepts exactly what
// `glassbox run <experiment>` accepts.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { EXPERIMENTS, findExperiment } from '../experiments/registry.js';
import { resolveConfig, type AnyExperiment } from '../experiments/experiment.js';
import { flagName, parseSetting, settingPaths, type SettingSpec } from '../experiments/settings.js';
import { Rng } from '../engine/rng.js';
import { exp as detExp, log as detLog } from '../engine/detmath.js';

export type Scalar = string | number | boolean;
/** A value as a spec writes it: a scalar, or a list for a list setting. */
export type SpecValue = Scalar | Scalar[];

/** One dimension of a random search: a range (uniform, or log-uniform), or choices. */
export type RandomDim = { min: number; max: number; log?: boolean; int?: boolean } | { choices: SpecValue[] };

export interface SweepSpec {
  experiment: string;
  preset?: string;
  /** Settings every run shares. */
  settings?: Record<string, SpecValue>;
  /** Each key's list of values; the sweep runs the cartesian product. */
  grid?: Record<string, SpecValue[]>;
  /** `count` samples drawn from `Rng.derive(seed, ...)`: the same spec always draws the same configs. */
  random?: { seed: number; count: number; settings: Record<string, RandomDim> };
  /** A path into the result (`eval_loss`, `figure4.spearman`): the number the report ranks and plots. */
  metric: string;
  goal?: 'min' | 'max';
  /** More result paths to show in the report's table. */
  record?: string[];
  /** Further attempts after a job fails (default 1). */
  retries?: number;
}

/** A spec was wrong; the message says where and what is valid. Nothing has been written. */
export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** One config of the sweep, as `glassbox run` would get it. */
export interface SweepPoint {
  index: number;
  /** `0007`: the job's name and its run directory's. */
  id: string;
  /** The swept settings of this point only (key as in the spec → value as text). */
  swept: Record<string, string>;
  /** Every override (shared and swept), as text. */
  overrides: Record<string, string>;
  /** The resolved config, or null when the experiment's checks refuse it (`invalid` says why). */
  config: unknown | null;
  preset: string;
  invalid?: string;
}

const KEYS = new Set(['experiment', 'preset', 'settings', 'grid', 'random', 'metric', 'goal', 'record', 'retries']);

/** Read a SPEC file: `.json` as JSON, anything else as YAML (a superset of JSON). */
export function readSpecFile(path: string): SweepSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(`cannot read the sweep spec ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SpecError(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  return checkSpec(raw, path);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function isValue(v: unknown): v is SpecValue {
  return isScalar(v) || (Array.isArray(v) && v.every(isScalar));
}

/** The shape of a spec (before the experiment's table is consulted). */
export function checkSpec(raw: unknown, where = 'spec'): SweepSpec {
  if (!isObject(raw)) throw new SpecError(`${where}: a sweep spec is an object with experiment, settings, grid and/or random, and metric`);
  for (const k of Object.keys(raw)) if (!KEYS.has(k)) throw new SpecError(`${where}: unknown key "${k}" (valid: ${[...KEYS].join(', ')})`);
  const names = EXPERIMENTS.map((e) => e.name).join(', ');
  if (typeof raw.experiment !== 'string') throw new SpecError(`${where}: "experiment" must name an experiment (one of ${names})`);
  if (!EXPERIMENTS.some((e) => e.name === raw.experiment)) throw new SpecError(`${where}: unknown experiment "${raw.experiment}" (valid: ${names})`);
  if (raw.preset !== undefined && typeof raw.preset !== 'string') throw new SpecError(`${where}: "preset" must be a preset's name`);
  if (raw.settings !== undefined) {
    if (!isObject(raw.settings)) throw new SpecError(`${where}: "settings" must map setting names to values`);
    for (const [k, v] of Object.entries(raw.settings)) if (!isValue(v)) throw new SpecError(`${where}: settings.${k} must be a value or a list of values, got ${JSON.stringify(v)}`);
  }
  if (raw.grid !== undefined) {
    if (!isObject(raw.grid)) throw new SpecError(`${where}: "grid" must map setting names to lists of values`);
    for (const [k, v] of Object.entries(raw.grid)) {
      if (!Array.isArray(v)) throw new SpecError(`${where}: grid.${k} must be a list of values, got ${JSON.stringify(v)}`);
      if (v.length === 0) throw new SpecError(`${where}: grid.${k} has no values, so the grid has no points`);
      for (const x of v) if (!isValue(x)) throw new SpecError(`${where}: grid.${k} holds ${JSON.stringify(x)}, which is not a value or a list of values`);
    }
  }
  if (raw.random !== undefined) {
    const r = raw.random;
    if (!isObject(r)) throw new SpecError(`${where}: "random" must be { seed, count, settings }`);
    if (!Number.isInteger(r.seed) || (r.seed as number) < 0) throw new SpecError(`${where}: random.seed must be a non-negative integer, got ${JSON.stringify(r.seed)}`);
    if (!Number.isInteger(r.count) || (r.count as number) < 0 || (r.count as number) > 100000) throw new SpecError(`${where}: random.count must be an integer in [0, 100000], got ${JSON.stringify(r.count)}`);
    if (r.count === 0) throw new SpecError(`${where}: random.count is 0, so the search has no points`);
    if (!isObject(r.settings) || Object.keys(r.settings).length === 0) throw new SpecError(`${where}: random.settings must name at least one setting to draw`);
    for (const [k, d] of Object.entries(r.settings)) {
      if (Array.isArray(d)) continue;
      if (!isObject(d)) throw new SpecError(`${where}: random.settings.${k} must be { min, max, log?, int? } or { choices: [...] }`);
      if ('choices' in d) {
        if (!Array.isArray(d.choices) || d.choices.length === 0 || !d.choices.every(isValue)) throw new SpecError(`${where}: random.settings.${k}.choices must be a non-empty list of values`);
        continue;
      }
      const { min, max } = d;
      if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new SpecError(`${where}: random.settings.${k} needs numbers min ≤ max, got ${JSON.stringify(d)}`);
      if (d.log === true && !(min > 0)) throw new SpecError(`${where}: random.settings.${k} is log-uniform, so min must be above 0, got ${min}`);
    }
  }
  if (raw.grid === undefined && raw.random === undefined) throw new SpecError(`${where}: nothing to sweep: give a "grid" (lists of values) or a "random" search`);
  if (typeof raw.metric !== 'string' || raw.metric === '') throw new SpecError(`${where}: "metric" must name a number in the result (a path such as eval_loss or figure4.spearman)`);
  if (raw.goal !== undefined && raw.goal !== 'min' && raw.goal !== 'max') throw new SpecError(`${where}: goal must be min or max, got ${JSON.stringify(raw.goal)}`);
  if (raw.record !== undefined && !(Array.isArray(raw.record) && raw.record.every((x) => typeof x === 'string'))) throw new SpecError(`${where}: record must be a list of result paths`);
  if (raw.retries !== undefined && !(Number.isInteger(raw.retries) && (raw.retries as number) >= 0 && (raw.retries as number) <= 10)) throw new SpecError(`${where}: retries must be an integer in [0, 10], got ${JSON.stringify(raw.retries)}`);
  const exp = findExperiment(raw.experiment);
  if (raw.preset !== undefined && !(raw.preset in exp.presets)) throw new SpecError(`${where}: ${exp.name} has no preset "${raw.preset}" (valid: ${Object.keys(exp.presets).join(', ')})`);
  return raw as unknown as SweepSpec;
}

/** A value as the text a flag would take. */
export function valueText(v: SpecValue): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

/** The table's path for a key written by path or flag name; a SpecError listing the valid names otherwise. */
function settingPath(exp: AnyExperiment, key: string, where: string): string {
  const table = exp.settings as Record<string, SettingSpec>;
  if (key in table) return key;
  for (const p of settingPaths(exp.settings)) if (flagName(p, table[p]) === key) return p;
  const valid = settingPaths(exp.settings).filter((p) => !table[p].internal).map((p) => (flagName(p, table[p]) === p ? p : `${p} (--${flagName(p, table[p])})`));
  throw new SpecError(`${where}: ${exp.name} has no setting "${key}" (valid: ${valid.join(', ')})`);
}

/** Each value alone against its setting (type, bounds, choices), so a typo is a spec error, not a failed job. */
function checkValue(exp: AnyExperiment, key: string, v: SpecValue, where: string): string {
  const path = settingPath(exp, key, where);
  const text = valueText(v);
  try {
    parseSetting(path, (exp.settings as Record<string, SettingSpec>)[path], text);
  } catch (e) {
    throw new SpecError(`${where}: ${(e as Error).message}`);
  }
  return path;
}

function drawDim(d: RandomDim, rng: Rng): SpecValue {
  if (Array.isArray(d)) return d[Math.floor(rng.next() * d.length)] as SpecValue;
  if ('choices' in d) return d.choices[Math.floor(rng.next() * d.choices.length)];
  const u = rng.next();
  if (d.int) return d.min + Math.floor(u * (Math.floor(d.max) - d.min + 1));
  // Log-uniform through detmath, so the same seed draws the same bits on every engine.
  if (d.log) return detExp(detLog(d.min) + u * (detLog(d.max) - detLog(d.min)));
  return d.min + u * (d.max - d.min);
}

/** Every point of the sweep, in a fixed order: the grid in key order (last key fastest), then the random samples per grid point. */
export function expandSpec(spec: SweepSpec, where = 'spec'): SweepPoint[] {
  const exp = findExperiment(spec.experiment);
  const preset = spec.preset ?? exp.defaultPreset;
  const fixed: Record<string, string> = {};
  const seen = new Map<string, string>();
  const claim = (key: string, path: string, section: string) => {
    const other = seen.get(path);
    if (other) throw new SpecError(`${where}: ${section}.${key} sets ${path}, which ${other} sets too`);
    seen.set(path, `${section}.${key}`);
  };
  for (const [k, v] of Object.entries(spec.settings ?? {})) {
    claim(k, checkValue(exp, k, v, `${where}: settings.${k}`), 'settings');
    fixed[k] = valueText(v);
  }
  const axes = Object.entries(spec.grid ?? {});
  for (const [k, values] of axes) {
    for (const v of values) checkValue(exp, k, v, `${where}: grid.${k}`);
    claim(k, settingPath(exp, k, where), 'grid');
  }
  const dims = Object.entries(spec.random?.settings ?? {});
  for (const [k, d] of dims) {
    const path = settingPath(exp, k, `${where}: random.settings.${k}`);
    claim(k, path, 'random.settings');
    if (!Array.isArray(d) && 'choices' in d) for (const c of d.choices) checkValue(exp, k, c, `${where}: random.settings.${k}`);
    else if (Array.isArray(d)) for (const c of d) checkValue(exp, k, c as SpecValue, `${where}: random.settings.${k}`);
  }
  let gridPoints: Array<Record<string, string>> = [{}];
  for (const [k, values] of axes) gridPoints = gridPoints.flatMap((p) => values.map((v) => ({ ...p, [k]: valueText(v) })));
  const samples = spec.random?.count ?? 0;
  const points: SweepPoint[] = [];
  for (const g of gridPoints) {
    const draws = samples === 0 ? [{}] : Array.from({ length: samples }, (_, s) => {
      const out: Record<string, string> = {};
      // One generator per sample and setting: a draw depends on neither the other settings nor their order.
      for (const [k, d] of dims) out[k] = valueText(drawDim(d, Rng.derive(spec.random!.seed, `sweep/random/${s}/${k}`)));
      return out;
    });
    for (const r of draws) {
      const index = points.length;
      const swept = { ...g, ...r };
      const overrides = { ...fixed, ...swept };
      const point: SweepPoint = { index, id: String(index).padStart(4, '0'), swept, overrides, config: null, preset };
      try {
        point.config = resolveConfig(exp, preset, overrides).config;
      } catch (e) {
        // A point the experiment's cross-setting checks refuse (heads that do not divide d-model) is one failed job, not a bad spec.
        point.invalid = (e as Error).message;
      }
      points.push(point);
    }
  }
  if (points.length === 0) throw new SpecError(`${where}: the sweep has no points`);
  return points;
}

/** A digest of what the spec asks for (key order and formatting do not matter): a sweep directory remembers it. */
export function specDigest(spec: SweepSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
