// Hook points, named as in TransformerLens. A module registers each of its
// hook points once (Module.hookPoint), and its forward pass runs the value
// through it; a Hooks object can cache the value there, or replace it
// (ablation, SAE splicing, steering). With no hooks active a point costs one
// map lookup.

import { Tensor, ShapeError, shapeStr } from '../engine/tensor.js';
import { permute } from '../engine/ops-shape.js';

/** Reads (and may rewrite) the activation at a hook point. Return nothing to keep it. */
export type HookFn = (value: Tensor, name: string) => Tensor | void;

/**
 * How a model's internal layout maps to the layout users see at a hook. A
 * model may keep heads leading ([H, B, T, d]) for speed while users see
 * TransformerLens's [B, T, H, d]; the permutation only runs when the hook is used.
 */
export interface HookLayout {
  toUser: number[];
  fromUser: number[];
}

// Attention keeps heads leading ([H, B, T, d_head]) so each head of each
// sequence is one contiguous matrix for the batched matmul; hooks show
// TransformerLens's layouts. Every attention in nn/ uses these two.
/** [H, B, T, d_head] inside, [B, T, H, d_head] at the hook (q, k, v, CRATE's w). */
export const HEADS_TO_BTHD: HookLayout = { toUser: [1, 2, 0, 3], fromUser: [2, 0, 1, 3] };
/** [H, B, T, T] inside, [B, H, T, T] at the hook (scores and patterns). */
export const HEADS_TO_BHTT: HookLayout = { toUser: [1, 0, 2, 3], fromUser: [1, 0, 2, 3] };

/** What a lens needs of any model: the names of the hook points its forward pass reports. */
export interface HasHookPoints {
  hookNames(): string[];
}

/** What a lens needs of a token model: its hook names and a forward pass over tokens [B, T] that honours hooks. */
export interface HookedModel extends HasHookPoints {
  forward(tokens: Int32Array, B: number, T: number, opts?: { hooks?: Hooks }): Tensor;
}

/**
 * A named place in a forward pass, registered by the module it sits in
 * (Module.hookPoint). Its full name is the module's name path plus its own
 * segment, so the name is written once and follows the module tree.
 */
export class HookPoint {
  constructor(private readonly owner: { readonly namePath: string }, readonly localName: string, readonly layout?: HookLayout) {}

  /** The full name (`blocks.0.attn.hook_q`). */
  get name(): string {
    return this.owner.namePath + this.localName;
  }

  /** The value at this place, cached or rewritten as `hooks` asks (Hooks.point). */
  run(hooks: Hooks, value: Tensor): Tensor {
    return hooks.point(this.name, value, this.layout);
  }

  /** Whether `hooks` reads or rewrites this point (so a model can skip materialising it otherwise). */
  wantedBy(hooks: Hooks): boolean {
    return hooks.wants(this.name);
  }
}

export class Hooks {
  readonly cache = new Map<string, Tensor>();
  private readonly cacheNames: Set<string> | 'all';
  private readonly fns = new Map<string, HookFn[]>();

  constructor(opts: { cache?: Iterable<string> | 'all'; replace?: Record<string, HookFn> } = {}) {
    this.cacheNames = opts.cache === 'all' ? 'all' : new Set(opts.cache ?? []);
    for (const [name, fn] of Object.entries(opts.replace ?? {})) this.add(name, fn);
  }

  add(name: string, fn: HookFn): this {
    const list = this.fns.get(name) ?? [];
    list.push(fn);
    this.fns.set(name, list);
    return this;
  }

  /** Names this object asks for (to check them against a model's hook list). */
  requested(): string[] {
    const names = new Set<string>(this.fns.keys());
    if (this.cacheNames !== 'all') for (const n of this.cacheNames) names.add(n);
    return [...names];
  }

  /** Whether anything caches or rewrites this point (so a model can skip materialising it otherwise). */
  wants(name: string): boolean {
    return this.cacheNames === 'all' || this.cacheNames.has(name) || this.fns.has(name);
  }

  point(name: string, value: Tensor, layout?: HookLayout): Tensor {
    const wantCache = this.cacheNames === 'all' || this.cacheNames.has(name);
    const fns = this.fns.get(name);
    if (!wantCache && !fns) return value;
    let user = layout ? permute(value, layout.toUser) : value;
    if (fns) {
      for (const fn of fns) {
        const r = fn(user, name);
        if (r) {
          if (r.size !== user.size || r.ndim !== user.ndim || r.shape.some((d, i) => d !== user.shape[i])) {
            throw new ShapeError(`hook ${name}`, `replacement has shape ${shapeStr(r.shape)}, expected ${shapeStr(user.shape)}`);
          }
          user = r;
        }
      }
    }
    if (wantCache) this.cache.set(name, user);
    if (!fns) return value;
    return layout ? permute(user, layout.fromUser) : user;
  }
}

/** Throw a clear error when a hook name is not one the model has. */
export function checkHookNames(requested: string[], valid: readonly string[]): void {
  const ok = new Set(valid);
  const bad = requested.filter((n) => !ok.has(n));
  if (bad.length) throw new Error(`unknown hook point${bad.length > 1 ? 's' : ''} ${bad.join(', ')}; valid: ${valid.join(', ')}`);
}
