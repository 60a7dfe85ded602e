// Module: a named tree of parameters, like torch.nn.Module without the magic.
// Parameters and children are registered explicitly, in a fixed order, so
// the state dict (and so a checkpoint, and the optimiser's view) is always
// laid out the same way.

import { Tensor, ShapeError, shapeStr } from '../engine/tensor.js';

export class Module {
  private readonly ownParams: Array<[string, Tensor]> = [];
  private readonly children: Array<[string, Module]> = [];
  training = true;

  /** Register a parameter under `name` (one path segment). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.ownParams.push([name, t]);
    return t;
  }

  /** Register a child module under `name`. */
  protected child<M extends Module>(name: string, m: M): M {
    this.children.push([name, m]);
    return m;
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
