// An experiment's settings, declared once (after TensorFlow Playground's
// `State.PROPS`): each entry names a config field by its path, its type, its
// help, its bounds or choices. The config type is the experiment's own
// interface; the table is checked against it by the compiler, and everything
// else derives from the table: the CLI flags and their --help (src/cli/
// experiment-command.ts), the checks on a config from a file, a sweep or a
// web form (`validateSettings`), and the parsing of "key=value" overrides
// (`parseSetting`). Defaults come from the experiment's presets, so a preset
// is a set of values, never a second description of the settings.

/** Paths to the leaves of a config: `steps`, `generator.seqLen`. Arrays are leaves. */
export type SettingPath<C> = {
  [K in keyof C & string]: C[K] extends readonly unknown[] ? K : C[K] extends object ? `${K}.${SettingPath<C[K]>}` : K;
}[keyof C & string];

/** The value type at a path. */
export type SettingValue<C, P extends string> = P extends `${infer A}.${infer B}` ? (A extends keyof C ? SettingValue<C[A], B> : never) : P extends keyof C ? C[P] : never;

export type SettingType = 'int' | 'number' | 'string' | 'boolean' | 'int[]' | 'number[]' | 'string[]';

/** Which setting types can describe a value of type V. */
type TypeFor<V> = [V] extends [boolean] ? 'boolean' : [V] extends [number] ? 'int' | 'number' : [V] extends [string] ? 'string' : [V] extends [readonly number[]] ? 'int[]' | 'number[]' : [V] extends [readonly string[]] ? 'string[]' : never;

export interface SettingSpec<V = unknown> {
  type: SettingType;
  help: string;
  /** Inclusive bounds of a number (or of each element of a list). */
  min?: number;
  max?: number;
  /** The allowed values of a string (or of each element of a string list). */
  choices?: readonly string[];
  /** The CLI flag without dashes; default: the path in kebab case (`fig4.lrZ` → `fig4-lr-z`). */
  flag?: string;
  /** The value name shown in --help (`<n>`, `<x>`, `<list>` by default). */
  arg?: string;
  /** A list may be empty (a flag value of "" is then the empty list). */
  allowEmpty?: boolean;
  /**
   * How a flag value becomes the value, where it is not written as the value
   * itself (e.g. `--seeds 3` meaning seeds 1, 2, 3). Throws with a message
   * saying what was expected.
   */
  parse?: (text: string) => V;
  /** Not a flag: set by presets or derived from other settings only. */
  internal?: boolean;
}

/** The seed setting every experiment with a seed shares. */
export const SEED: Setting<number> = { type: 'int', min: 0, max: 2 ** 31 - 1, help: 'seed of init, data and everything random' };

/** A setting whose type the compiler checks against the config field it describes. */
export type Setting<V> = SettingSpec<V> & { type: TypeFor<V> };

export type SettingsTable<C> = { [P in SettingPath<C>]: Setting<SettingValue<C, P>> };

export interface Preset<C> {
  help: string;
  config: C;
}

/** A setting's value was wrong; `path` names it, the message says what was expected. */
export class SettingError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

export function settingPaths<C>(table: SettingsTable<C>): Array<SettingPath<C>> {
  return Object.keys(table) as Array<SettingPath<C>>;
}

export function flagName(path: string, s: Pick<SettingSpec, 'flag'>): string {
  return s.flag ?? path.replace(/\./g, '-').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function getAt(obj: unknown, path: string): unknown {
  let o = obj as Record<string, unknown> | undefined;
  for (const k of path.split('.')) o = o === undefined || o === null ? undefined : (o[k] as Record<string, unknown> | undefined);
  return o;
}

/** Set a leaf on a config, copying the objects along the path so presets are never mutated. */
export function setAt<C>(cfg: C, path: string, value: unknown): C {
  const keys = path.split('.');
  const root = { ...(cfg as Record<string, unknown>) };
  let o = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = { ...(o[keys[i]] as Record<string, unknown>) };
    o[keys[i]] = next;
    o = next;
  }
  o[keys[keys.length - 1]] = value;
  return root as C;
}

/** A deep copy of a JSON-shaped config. */
export function cloneConfig<C>(cfg: C): C {
  return JSON.parse(JSON.stringify(cfg)) as C;
}

function describe(s: SettingSpec): string {
  const elem = s.type.endsWith('[]') ? ' each' : '';
  if (s.choices) return `one of ${s.choices.join(', ')}${elem ? ' (each)' : ''}`;
  const kind = s.type.startsWith('int') ? 'an integer' : s.type.startsWith('number') ? 'a number' : s.type.startsWith('string') ? 'text' : 'true or false';
  const lo = s.min !== undefined ? s.min : undefined;
  const hi = s.max !== undefined ? s.max : undefined;
  const range = lo !== undefined && hi !== undefined ? ` in [${lo}, ${hi}]` : lo !== undefined ? ` ≥ ${lo}` : hi !== undefined ? ` ≤ ${hi}` : '';
  return `${kind}${range}${elem}`;
}

function checkScalar(path: string, s: SettingSpec, v: unknown, base: string): void {
  const isList = s.type.endsWith('[]');
  const want = isList ? s.type.slice(0, -2) : s.type;
  const bad = (): never => {
    throw new SettingError(path, `${path}: expected ${describe(s)}, got ${JSON.stringify(v)}${isList ? ` in ${base}` : ''}`);
  };
  if (want === 'boolean') {
    if (typeof v !== 'boolean') bad();
    return;
  }
  if (want === 'string') {
    if (typeof v !== 'string') bad();
    if (s.choices && !s.choices.includes(v as string)) bad();
    return;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) bad();
  if (want === 'int' && !Number.isInteger(v)) bad();
  if ((s.min !== undefined && (v as number) < s.min) || (s.max !== undefined && (v as number) > s.max)) bad();
}

/** Check one value against its setting; throws a SettingError naming the path. */
export function checkSetting(path: string, s: SettingSpec, v: unknown): void {
  if (s.type.endsWith('[]')) {
    if (!Array.isArray(v)) throw new SettingError(path, `${path}: expected a list (${describe(s)}), got ${JSON.stringify(v)}`);
    if (v.length === 0 && !s.allowEmpty) throw new SettingError(path, `${path}: the list is empty`);
    for (const x of v) checkScalar(path, s, x, JSON.stringify(v));
  } else checkScalar(path, s, v, '');
}

/** Every value of a config against the table: types, bounds, choices. Experiment-specific checks come after. */
export function validateSettings<C>(table: SettingsTable<C>, cfg: C): void {
  for (const path of settingPaths(table)) checkSetting(path, (table as Record<string, SettingSpec>)[path], getAt(cfg, path));
}

/** A value from text, as it is written on a command line or in `key=value`. */
export function parseSetting<V>(path: string, s: SettingSpec<V>, text: string): V {
  if (s.parse) {
    try {
      return s.parse(text);
    } catch (e) {
      throw new SettingError(path, `${path}: ${(e as Error).message}`);
    }
  }
  const one = (t: string, type: string): unknown => {
    const x = t.trim();
    if (type === 'boolean') {
      if (x === 'true') return true;
      if (x === 'false') return false;
      throw new SettingError(path, `${path}: expected true or false, got "${t}"`);
    }
    if (type === 'string') return x;
    // Unreadable text and a value out of bounds get different messages: the first says what kind of value, the second the range.
    if (type === 'int' && !/^-?\d+$/.test(x)) throw new SettingError(path, `${path}: expected an integer, got "${t}"`);
    const n = Number(x);
    if (x === '' || !Number.isFinite(n)) throw new SettingError(path, `${path}: expected a number, got "${t}"`);
    return n;
  };
  let v: unknown;
  if (s.type.endsWith('[]')) {
    const type = s.type.slice(0, -2);
    v = text.trim() === '' ? [] : text.split(',').map((t) => one(t, type));
  } else v = one(text, s.type);
  checkSetting(path, s as SettingSpec, v);
  return v as V;
}

/** Apply `key=value` overrides (as a sweep or a web form gives them) to a config, by path or flag name. */
export function applyOverrides<C>(table: SettingsTable<C>, cfg: C, overrides: Record<string, string>): { config: C; given: Set<string> } {
  const byFlag = new Map<string, string>();
  for (const p of settingPaths(table)) byFlag.set(flagName(p, (table as Record<string, SettingSpec>)[p]), p);
  let out = cfg;
  const given = new Set<string>();
  for (const [key, text] of Object.entries(overrides)) {
    const path = key in table ? key : byFlag.get(key);
    if (!path) throw new SettingError(key, `unknown setting "${key}" (known: ${settingPaths(table).join(', ')})`);
    const s = (table as Record<string, SettingSpec>)[path];
    out = setAt(out, path, parseSetting(path, s, text));
    given.add(path);
  }
  return { config: out, given };
}

/** A JSON Schema (draft 2020-12) of the settings, for forms and for sweep files. */
export function settingsSchema<C>(table: SettingsTable<C>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const path of settingPaths(table)) {
    const s = (table as Record<string, SettingSpec>)[path];
    const scalar = (t: string): Record<string, unknown> => ({
      type: t === 'int' ? 'integer' : t,
      ...(s.min !== undefined ? { minimum: s.min } : {}),
      ...(s.max !== undefined ? { maximum: s.max } : {}),
      ...(s.choices ? { enum: [...s.choices] } : {}),
    });
    properties[path] = s.type.endsWith('[]') ? { type: 'array', items: scalar(s.type.slice(0, -2)), description: s.help } : { ...scalar(s.type), description: s.help };
  }
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties };
}

/**
 * Another config's table under a key (an experiment that trains a model of
 * another experiment first): `base.steps` with the flag `--base-steps`.
 */
export function nestSettings<K extends string, C>(key: K, table: SettingsTable<C>, flagPrefix: string = key + '-'): { [P in SettingPath<C> as `${K}.${P}`]: Setting<SettingValue<C, P>> } {
  const out: Record<string, SettingSpec> = {};
  for (const p of settingPaths(table)) {
    const s = (table as Record<string, SettingSpec>)[p];
    out[`${key}.${p}`] = { ...s, flag: flagPrefix + flagName(p, s), help: s.help };
  }
  return out as { [P in SettingPath<C> as `${K}.${P}`]: Setting<SettingValue<C, P>> };
}

/** The user-given paths under a key, without it (for a nested config's own `adjust`). */
export function givenUnder(given: ReadonlySet<string>, key: string): Set<string> {
  const out = new Set<string>();
  for (const g of given) if (g.startsWith(key + '.')) out.add(g.slice(key.length + 1));
  return out;
}
