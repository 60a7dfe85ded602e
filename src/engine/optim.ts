// optim: optimisers over plain parameters ({ data, grad } Float32Arrays).
//
// Determinism: parameters are visited in the order given, elements in index
// order. Each element's update is computed in f64 from the f32 values and
// stored back to f32; moment buffers are f32 and the update always uses the
// stored (rounded) moment, so the result depends only on what state() saves.
// Bias corrections use beta^t formed by repeated multiplication in f64 (never
// Math.pow). Semantics follow the PyTorch documentation of SGD, Adam and AdamW,
// and the Lion paper (Chen et al. 2023, "Symbolic Discovery of Optimization
// Algorithms").

/** What an optimiser needs of a parameter; the engine's Tensor satisfies it. */
export interface Param {
  data: Float32Array;
  grad: Float32Array | null;
  name?: string;
}

/** One named optimiser buffer, e.g. `optim.3.exp_avg` (moment of parameter 3). */
export interface NamedBuffer {
  name: string;
  data: Float32Array;
}

/**
 * The serialisable state of an optimiser: its kind, the number of updates
 * applied to each parameter, and its buffers (Float32Arrays keyed by parameter
 * index as `optim.<index>.<buffer>`). Hyperparameters, including lr, are not
 * part of it: they come from the run's config and schedule.
 */
export interface OptimizerState {
  kind: string;
  steps: number[];
  buffers: NamedBuffer[];
}

function checkNonNegative(value: number, what: string): void {
  if (!(value >= 0) || value === Infinity) throw new RangeError(`${what} must be a finite number >= 0, got ${value}`);
}

function checkBeta(value: number, what: string): void {
  if (!(value >= 0 && value < 1)) throw new RangeError(`${what} must be in [0, 1), got ${value}`);
}

export abstract class Optimizer {
  abstract readonly kind: string;
  readonly params: readonly Param[];
  /** The learning rate used by the next step(); set it from a schedule before each step. */
  lr: number;
  /** Updates applied to each parameter (a parameter with grad === null is skipped and not counted). */
  protected readonly steps: number[];
  /** Buffers by name, in a fixed order: for each parameter index, each buffer kind. */
  private readonly bufferMap = new Map<string, Float32Array>();

  protected constructor(params: readonly Param[], lr: number, bufferKinds: readonly string[]) {
    checkNonNegative(lr, 'lr');
    this.params = params.slice();
    this.lr = lr;
    this.steps = params.map(() => 0);
    const seen = new Set<Param>();
    params.forEach((p, i) => {
      if (seen.has(p)) throw new Error(`optimizer: parameter ${i}${p.name ? ` (${p.name})` : ''} is listed twice`);
      seen.add(p);
      for (const kind of bufferKinds) this.bufferMap.set(bufferName(i, kind), new Float32Array(p.data.length));
    });
  }

  setLr(lr: number): void {
    checkNonNegative(lr, 'lr');
    this.lr = lr;
  }

  /** Applies one update to every parameter that has a gradient, in order. */
  step(): void {
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (p.grad === null) continue;
      if (p.grad.length !== p.data.length) {
        throw new RangeError(`optimizer: parameter ${i}${p.name ? ` (${p.name})` : ''} has ${p.data.length} values but ${p.grad.length} gradients`);
      }
      this.steps[i]++;
      this.update(i, p.data, p.grad, this.steps[i]);
    }
  }

  /** Sets every existing gradient to zero (gradients that are null stay null). */
  zeroGrad(): void {
    for (const p of this.params) if (p.grad !== null) p.grad.fill(0);
  }

  /** A deep copy of the state (steps and buffers), for checkpoints. */
  state(): OptimizerState {
    return {
      kind: this.kind,
      steps: this.steps.slice(),
      buffers: [...this.bufferMap].map(([name, data]) => ({ name, data: data.slice() })),
    };
  }

  /** Restores state(); every buffer must be present with the right length. */
  loadState(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new Error(`optimizer: state is for ${state.kind}, this is ${this.kind}`);
    if (state.steps.length !== this.params.length) {
      throw new Error(`optimizer: state has ${state.steps.length} parameters, this optimizer has ${this.params.length}`);
    }
    for (const t of state.steps) if (!Number.isSafeInteger(t) || t < 0) throw new Error(`optimizer: bad step count ${t}`);
    const given = new Map(state.buffers.map((b) => [b.name, b.data]));
    for (const [name, own] of this.bufferMap) {
      const data = given.get(name);
      if (!data) throw new Error(`optimizer: state lacks buffer ${name}`);
      if (data.length !== own.length) throw new Error(`optimizer: buffer ${name} has ${data.length} values, expected ${own.length}`);
    }
    for (const name of given.keys()) if (!this.bufferMap.has(name)) throw new Error(`optimizer: unexpected buffer ${name}`);
    for (const [name, own] of this.bufferMap) own.set(given.get(name)!);
    for (let i = 0; i < this.steps.length; i++) this.steps[i] = state.steps[i];
    this.onLoad();
  }

  protected buffer(index: number, kind: string): Float32Array {
    return this.bufferMap.get(bufferName(index, kind))!;
  }

  /** Called after loadState, for derived f64 state (such as beta powers). */
  protected onLoad(): void {}

  /** Updates parameter `index` in place; t is its update count including this one (1 on the first). */
  protected abstract update(index: number, data: Float32Array, grad: Float32Array, t: number): void;
}

function bufferName(index: number, kind: string): string {
  return `optim.${index}.${kind}`;
}

// ---------------------------------------------------------------- SGD

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/**
 * Stochastic gradient descent, as PyTorch's SGD:
 * g = grad + wd*p; with momentum: b = g on a parameter's first step, else
 * b = momentum*b + (1-dampening)*g; g = nesterov ? g + momentum*b : b;
 * p = p - lr*g. Buffer: `momentum_buffer` (allocated even when momentum = 0).
 */
export class SGD extends Optimizer {
  readonly kind = 'sgd';
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: readonly Param[], opts: SGDOptions) {
    super(params, opts.lr, ['momentum_buffer']);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    checkNonNegative(this.momentum, 'momentum');
    checkNonNegative(this.dampening, 'dampening');
    checkNonNegative(this.weightDecay, 'weightDecay');
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError('SGD: nesterov needs momentum > 0 and dampening = 0');
    }
  }

  protected update(index: number, data: Float32Array, grad: Float32Array, t: number): void {
    const { momentum: mu, weightDecay: wd, nesterov } = this;
    const lr = this.lr;
    const keep = 1 - this.dampening;
    const buf = this.buffer(index, 'momentum_buffer');
    for (let j = 0; j < data.length; j++) {
      const p = data[j];
      let g = grad[j] + wd * p;
      if (mu !== 0) {
        buf[j] = t === 1 ? g : mu * buf[j] + keep * g;
        const b = buf[j];
        g = nesterov ? g + mu * b : b;
      }
      data[j] = p - lr * g;
    }
  }
}

// ---------------------------------------------------------------- Adam, AdamW

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba), as PyTorch's Adam: g = grad + wd*p (L2 decay, coupled);
 * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p = p - (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * Buffers: `exp_avg` (m), `exp_avg_sq` (v). Defaults: betas (0.9, 0.999), eps 1e-8, weightDecay 0.
 */
export class Adam extends Optimizer {
  readonly kind: string = 'adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Decoupled (AdamW) weight decay instead of L2 in the gradient. */
  protected readonly decoupled: boolean = false;
  /** beta1^t and beta2^t per parameter, by repeated multiplication. */
  private readonly beta1Pow: number[];
  private readonly beta2Pow: number[];

  constructor(params: readonly Param[], opts: AdamOptions, defaultWeightDecay = 0) {
    super(params, opts.lr, ['exp_avg', 'exp_avg_sq']);
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? defaultWeightDecay;
    checkBeta(this.beta1, 'beta1');
    checkBeta(this.beta2, 'beta2');
    checkNonNegative(this.eps, 'eps');
    checkNonNegative(this.weightDecay, 'weightDecay');
    this.beta1Pow = params.map(() => 1);
    this.beta2Pow = params.map(() => 1);
  }

  protected override onLoad(): void {
    for (let i = 0; i < this.steps.length; i++) {
      let p1 = 1;
      let p2 = 1;
      for (let t = 0; t < this.steps[i]; t++) {
        p1 *= this.beta1;
        p2 *= this.beta2;
      }
      this.beta1Pow[i] = p1;
      this.beta2Pow[i] = p2;
    }
  }

  protected update(index: number, data: Float32Array, grad: Float32Array, _t: number): void {
    const b1 = this.beta1;
    const b2 = this.beta2;
    this.beta1Pow[index] *= b1;
    this.beta2Pow[index] *= b2;
    const stepSize = this.lr / (1 - this.beta1Pow[index]);
    const sqrtBc2 = Math.sqrt(1 - this.beta2Pow[index]);
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    const eps = this.eps;
    const l2 = this.decoupled ? 0 : this.weightDecay;
    const shrink = this.decoupled ? 1 - this.lr * this.weightDecay : 1;
    const m = this.buffer(index, 'exp_avg');
    const v = this.buffer(index, 'exp_avg_sq');
    for (let j = 0; j < data.length; j++) {
      const p = data[j];
      const g = grad[j] + l2 * p;
      m[j] = b1 * m[j] + c1 * g;
      v[j] = b2 * v[j] + c2 * g * g;
      data[j] = p * shrink - (stepSize * m[j]) / (Math.sqrt(v[j]) / sqrtBc2 + eps);
    }
  }
}

/**
 * AdamW (Loshchilov & Hutter), as PyTorch's AdamW: Adam without L2 in the
 * gradient, with decoupled decay p = p*(1 - lr*wd) before the Adam step.
 * Default weightDecay 0.01.
 */
export class AdamW extends Adam {
  override readonly kind: string = 'adamw';
  protected override readonly decoupled: boolean = true;

  constructor(params: readonly Param[], opts: AdamOptions) {
    super(params, opts, 0.01);
  }
}

// ---------------------------------------------------------------- Lion

export interface LionOptions {
  lr: number;
  betas?: [number, number];
  weightDecay?: number;
}

/**
 * Lion (Chen et al. 2023): c = b1*m + (1-b1)*g; p = p*(1 - lr*wd) - lr*sign(c);
 * m = b2*m + (1-b2)*g. sign(0) = 0. Buffer: `exp_avg` (m).
 * Defaults: betas (0.9, 0.99), weightDecay 0.
 */
export class Lion extends Optimizer {
  readonly kind = 'lion';
  readonly beta1: number;
  readonly beta2: number;
  readonly weightDecay: number;

  constructor(params: readonly Param[], opts: LionOptions) {
    super(params, opts.lr, ['exp_avg']);
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.99];
    this.weightDecay = opts.weightDecay ?? 0;
    checkBeta(this.beta1, 'beta1');
    checkBeta(this.beta2, 'beta2');
    checkNonNegative(this.weightDecay, 'weightDecay');
  }

  protected update(index: number, data: Float32Array, grad: Float32Array, _t: number): void {
    const { beta1: b1, beta2: b2 } = this;
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    const lr = this.lr;
    const shrink = 1 - lr * this.weightDecay;
    const m = this.buffer(index, 'exp_avg');
    for (let j = 0; j < data.length; j++) {
      const g = grad[j];
      const mj = m[j];
      const c = b1 * mj + c1 * g;
      const sign = c > 0 ? 1 : c < 0 ? -1 : c; // NaN stays NaN
      data[j] = data[j] * shrink - lr * sign;
      m[j] = b2 * mj + c2 * g;
    }
  }
}

// ---------------------------------------------------------------- clipping

/**
 * Clips gradients by their global L2 norm. The norm is sqrt of the f64 sum of
 * squares over params in order (elements in index order; null grads skipped).
 * If it exceeds maxNorm, every gradient is scaled by maxNorm/(norm + 1e-6)
 * (as PyTorch's clip_grad_norm_). Returns the norm before clipping. When the
 * norm is not finite, gradients are left untouched: the caller should skip
 * the step.
 */
export function clipGradNorm(params: readonly Param[], maxNorm: number): number {
  checkNonNegative(maxNorm, 'maxNorm');
  let sumSq = 0;
  for (const p of params) {
    const g = p.grad;
    if (g === null) continue;
    for (let j = 0; j < g.length; j++) sumSq += g[j] * g[j];
  }
  const norm = Math.sqrt(sumSq);
  if (norm > maxNorm && norm !== Infinity) {
    const scale = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const g = p.grad;
      if (g === null) continue;
      for (let j = 0; j < g.length; j++) g[j] = g[j] * scale;
    }
  }
  return norm;
}
