// Module: a named tree of parameters, hook points and children, like
// torch.nn.Module without the magic.
//
// Every name comes from the tree. A module registers its parameters, hook
// points and children under one path segment each, and learns its own path
// when its parent registers it (as TransformerLens's setup() names each
// HookPoint after the module path it sits at). So a parameter's state-dict
// name (`blocks.0.attn.W_Q`), the key its initial values are drawn under and
// a hook point's name (`blocks.0.attn.hook_q`) are all written once, as one
// segment in the module that owns them.
//
// Registration is explicit and in a fixed order, so the state dict (and so a
// checkpoint, and the optimiser's view) is always laid out the same way, and
// hook points and children registered in forward order give hookNames() in
// forward order.

import { Tensor, ShapeError, shapeStr } from '../engine/tensor.js';
import { HookPoint, type HookLayout } from './hooks.js';

/** Makes the initial values of a named parameter: n numbers with standard deviation std, normal or uniform. */
export type Init = (name: string, n: number, std: number, dist?: 'normal' | 'uniform') => Float32Array;

/** How a parameter's initial values are drawn: `init(key, size, std, dist)` once the tree is built. */
export interface InitSpec {
  std: number;
  dist?: 'normal' | 'uniform';
}

export interface ChildOptions {
  /**
   * The child's hook names and init keys sit at the parent's level; only its
   * parameters' state-dict names carry the child's segment. For a grouping
   * added to the state dict after its names were in use.
   */
  namesAtParent?: boolean;
}

export class Module {
  private readonly ownParams: Array<[string, Tensor]> = [];
  private readonly children: Array<[string, Module]> = [];
  private readonly inits: Array<[string, Tensor, InitSpec]> = [];
  /** Own hook points and children, in registration (forward) order. */
  private readonly hookOrder: Array<HookPoint | Module> = [];
  private parent: { module: Module; name: string; namesAtParent: boolean } | null = null;
  training = true;

  /**
   * Register a parameter under `name` (one path segment). With `init`, its
   * values are drawn by initParameters() under the key `<namePath><name>`;
   * without, it keeps the values it was given (zeros, ones).
   */
  protected param(name: string, t: Tensor, init?: InitSpec): Tensor {
    t.requiresGrad = true;
    this.ownParams.push([name, t]);
    if (init) this.inits.push([name, t, init]);
    return t;
  }

  /** Register a child module under `name`; it takes its path from here. */
  protected child<M extends Module>(name: string, m: M, opts: ChildOptions = {}): M {
    if (m.parent) throw new Error(`Module: ${name} is already registered as ${m.path.slice(0, -1)}; a module has one place in the tree`);
    m.parent = { module: this, name, namesAtParent: opts.namesAtParent === true };
    this.children.push([name, m]);
    this.hookOrder.push(m);
    return m;
  }

  /** Register a hook point under `name` (`hook_q`); its full name is this module's namePath plus `name`. */
  protected hookPoint(name: string, layout?: HookLayout): HookPoint {
    const point = new HookPoint(this, name, layout);
    this.hookOrder.push(point);
    return point;
  }

  /** Dotted path from the root with a trailing dot (`blocks.0.attn.`; '' at the root): the prefix of parameter names. */
  get path(): string {
    const p = this.parent;
    return p ? `${p.module.path}${p.name}.` : '';
  }

  /** The prefix of this module's hook names and init keys: its path, except under a child registered with namesAtParent. */
  get namePath(): string {
    const p = this.parent;
    if (!p) return '';
    return p.namesAtParent ? p.module.namePath : `${p.module.namePath}${p.name}.`;
  }

  /** Every hook point in this subtree by its full name, in registration (forward) order. */
  hookNames(): string[] {
    const out: string[] = [];
    const walk = (m: Module): void => {
      for (const e of m.hookOrder) {
        if (e instanceof Module) walk(e);
        else out.push(e.name);
      }
    };
    walk(this);
    return out;
  }

  /**
   * Draw every parameter registered with an InitSpec from `init`, keyed by its
   * namePath and name. A model calls this once its tree is complete.
   */
  initParameters(init: Init): this {
    for (const [name, t, spec] of this.inits) t.data.set(init(this.namePath + name, t.size, spec.std, spec.dist));
    for (const [, c] of this.children) c.initParameters(init);
    return this;
  }

  /** All parameters with their dotted module paths (`blocks.0.attn.W_Q`), in registration order. */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([name, t]) => {
      t.name = name;
      return t;
    });
  }

  paramCount(): number {
    return this.namedParameters().reduce((s, [, t]) => s + t.size, 0);
  }

  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /** Copy values in from a state dict; every name and shape must match (the error says which doesn't). */
  loadStateDict(state: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
    const own = this.namedParameters();
    const missing = own.filter(([n]) => !state.has(n)).map(([n]) => n);
    const known = new Set(own.map(([n]) => n));
    const extra = [...state.keys()].filter((n) => !known.has(n));
    if (missing.length || extra.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
      if (extra.length) parts.push(`unexpected ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
      throw new Error(`state dict does not match the model: ${parts.join('; ')}`);
    }
    for (const [n, t] of own) {
      const s = state.get(n)!;
      if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
        throw new ShapeError('loadStateDict', `${n} has shape ${shapeStr(s.shape)} in the state dict but ${shapeStr(t.shape)} in the model`);
      }
      t.data.set(s.data);
    }
  }

  train(on = true): this {
    this.training = on;
    for (const [, c] of this.children) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }
}
