// optim and schedule: each optimiser against an f64 reference written here
// from the published update equations, then clipping, state round trips and
// learning-rate schedules.

import test from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, Lion, SGD, clipGradNorm, type Optimizer, type Param } from '../../src/engine/optim.js';
import { logLinearDecay, warmupCosine, warmupInverseSqrt } from '../../src/engine/schedule.js';
import { Rng } from '../../src/engine/rng.js';

// ---------------------------------------------------------------- fixtures

const SIZES = [7, 1, 33];
const STEPS = 6;

function makeParams(seed: number): Param[] {
  const rng = new Rng(seed);
  return SIZES.map((n, i) => {
    const data = new Float32Array(n);
    rng.fillNormal(data);
    return { data, grad: new Float32Array(n), name: `p${i}` };
  });
}

/** Gradients for each step: seeded normals, with some exact zeros. */
function gradients(seed: number): Float32Array[][] {
  const rng = new Rng(seed);
  return Array.from({ length: STEPS }, () =>
    SIZES.map((n) => {
      const g = new Float32Array(n);
      rng.fillNormal(g, 0, 0.5);
      if (n > 3) g[3] = 0;
      return g;
    }),
  );
}

function run(opt: Optimizer, params: Param[], grads: Float32Array[][], from = 0, to = STEPS): void {
  for (let s = from; s < to; s++) {
    params.forEach((p, i) => p.grad!.set(grads[s][i]));
    opt.step();
  }
}

/** f64 reference: applies `update(p, g, state, t)` elementwise for each step. */
function reference(
  seed: number,
  grads: Float32Array[][],
  update: (p: number, g: number, st: Record<string, number>, t: number) => number,
): number[][] {
  const params = makeParams(seed).map((p) => Array.from(p.data));
  const states = params.map((p) => p.map(() => ({}) as Record<string, number>));
  for (let s = 0; s < STEPS; s++) {
    params.forEach((p, i) => p.forEach((_, j) => (p[j] = update(p[j], grads[s][i][j], states[i][j], s + 1))));
  }
  return params;
}

function assertClose(params: Param[], want: number[][], tol: number, label: string): void {
  params.forEach((p, i) =>
    p.data.forEach((x, j) => {
      assert.ok(Math.abs(x - want[i][j]) <= tol * (1 + Math.abs(want[i][j])), `${label}: param ${i}[${j}] = ${x}, reference ${want[i][j]}`);
    }),
  );
}

const TOL = 2e-6; // a few f32 roundings per step, over six steps

// ---------------------------------------------------------------- optimisers against references

test('SGD: plain, momentum, dampening, nesterov and weight decay match the reference', () => {
  const grads = gradients(1);
  const configs = [
    { lr: 0.1 },
    { lr: 0.05, momentum: 0.9 },
    { lr: 0.05, momentum: 0.9, dampening: 0.3 },
    { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 },
    { lr: 0.02, weightDecay: 0.1 },
  ];
  for (const cfg of configs) {
    const params = makeParams(10);
    run(new SGD(params, cfg), params, grads);
    const mu = cfg.momentum ?? 0;
    const damp = cfg.dampening ?? 0;
    const wd = cfg.weightDecay ?? 0;
    const want = reference(10, grads, (p, g, st, t) => {
      let d = g + wd * p;
      if (mu !== 0) {
        st.b = t === 1 ? d : mu * st.b + (1 - damp) * d;
        d = cfg.nesterov ? d + mu * st.b : st.b;
      }
      return p - cfg.lr * d;
    });
    assertClose(params, want, TOL, `SGD ${JSON.stringify(cfg)}`);
  }
});

function adamReference(lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean) {
  return (p: number, g: number, st: Record<string, number>, t: number): number => {
    if (decoupled) p = p * (1 - lr * wd);
    else g = g + wd * p;
    st.m = b1 * (st.m ?? 0) + (1 - b1) * g;
    st.v = b2 * (st.v ?? 0) + (1 - b2) * g * g;
    const mHat = st.m / (1 - Math.pow(b1, t));
    const vHat = st.v / (1 - Math.pow(b2, t));
    return p - (lr * mHat) / (Math.sqrt(vHat) + eps);
  };
}

test('Adam (L2 decay) and AdamW (decoupled decay) match the reference', () => {
  const grads = gradients(2);
  for (const [Cls, decoupled] of [[Adam, false], [AdamW, true]] as const) {
    for (const cfg of [
      { lr: 1e-2 },
      { lr: 3e-3, betas: [0.8, 0.95] as [number, number], eps: 1e-6, weightDecay: 0.1 },
    ]) {
      const params = makeParams(20);
      const opt = new Cls(params, cfg);
      run(opt, params, grads);
      const wd = cfg.weightDecay ?? (decoupled ? 0.01 : 0);
      const [b1, b2] = cfg.betas ?? [0.9, 0.999];
      const want = reference(20, grads, adamReference(cfg.lr, b1, b2, cfg.eps ?? 1e-8, wd, decoupled));
      assertClose(params, want, TOL, `${opt.kind} ${JSON.stringify(cfg)}`);
    }
  }
});

test('Adam bias correction: the first step moves each parameter by lr in the sign of its gradient', () => {
  const p: Param = { data: new Float32Array([1, -2, 3, 0.5]), grad: new Float32Array([0.3, -1e-3, 50, -7]) };
  const before = p.data.slice();
  new Adam([p], { lr: 0.01, eps: 0 }).step();
  for (let j = 0; j < 4; j++) {
    const moved = p.data[j] - before[j];
    assert.ok(Math.abs(moved + 0.01 * Math.sign(p.grad![j])) < 1e-7, `element ${j} moved ${moved}`);
  }
});

test('AdamW decay is decoupled: with zero gradients the weights shrink by (1 - lr*wd) per step, Adam with L2 does not move', () => {
  const p: Param = { data: new Float32Array([1, -2]), grad: new Float32Array(2) };
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
  for (let t = 1; t <= 5; t++) {
    opt.step();
    assert.ok(Math.abs(p.data[0] - Math.pow(0.95, t)) < 1e-6 && Math.abs(p.data[1] + 2 * Math.pow(0.95, t)) < 1e-6);
  }
  const q: Param = { data: new Float32Array([1, -2]), grad: new Float32Array(2) };
  new Adam([q], { lr: 0.1, weightDecay: 0.5 }).step();
  // L2 decay enters as a gradient wd*p, which Adam normalises: the first step is lr in the sign of p.
  assert.ok(Math.abs(q.data[0] - 0.9) < 1e-6 && Math.abs(q.data[1] + 1.9) < 1e-6);
});

test('Lion matches the reference; each update has magnitude lr (without decay)', () => {
  const grads = gradients(3);
  for (const cfg of [{ lr: 1e-3 }, { lr: 3e-4, betas: [0.95, 0.98] as [number, number], weightDecay: 1 }]) {
    const params = makeParams(30);
    run(new Lion(params, cfg), params, grads);
    const [b1, b2] = cfg.betas ?? [0.9, 0.99];
    const wd = cfg.weightDecay ?? 0;
    const want = reference(30, grads, (p, g, st) => {
      const m = st.m ?? 0;
      const c = b1 * m + (1 - b1) * g;
      st.m = b2 * m + (1 - b2) * g;
      return p - cfg.lr * (Math.sign(c) + wd * p);
    });
    assertClose(params, want, TOL, `Lion ${JSON.stringify(cfg)}`);
  }
  const p: Param = { data: new Float32Array([0.5, -0.25, 2]), grad: new Float32Array([1, -3, 0]) };
  new Lion([p], { lr: 0.125 }).step();
  assert.deepEqual(Array.from(p.data), [0.375, -0.125, 2]);
});

// ---------------------------------------------------------------- bookkeeping

test('null gradients are skipped and not counted; zeroGrad; setLr; buffer names', () => {
  const params = makeParams(40);
  params[1].grad = null;
  const frozen = params[1].data.slice();
  const opt = new Adam(params, { lr: 0.01 });
  run(opt, [params[0], params[2]], gradients(4).map((g) => [g[0], g[2]]));
  assert.deepEqual(params[1].data, frozen);
  const st = opt.state();
  assert.deepEqual(st.steps, [STEPS, 0, STEPS]);
  assert.deepEqual(
    st.buffers.map((b) => b.name),
    ['optim.0.exp_avg', 'optim.0.exp_avg_sq', 'optim.1.exp_avg', 'optim.1.exp_avg_sq', 'optim.2.exp_avg', 'optim.2.exp_avg_sq'],
  );
  opt.zeroGrad();
  assert.ok(params[0].grad!.every((g) => g === 0));
  assert.equal(params[1].grad, null);
  opt.setLr(0.5);
  assert.equal(opt.lr, 0.5);
  assert.throws(() => opt.setLr(-1), RangeError);
  assert.throws(() => new SGD([params[0], params[0]], { lr: 1 }), /listed twice/);
  const bad: Param = { data: new Float32Array(3), grad: new Float32Array(2) };
  assert.throws(() => new SGD([bad], { lr: 1 }).step(), /3 values but 2 gradients/);
});

test('state round trip: a restored optimiser continues with identical bits', () => {
  const grads = gradients(5);
  const make = [
    (ps: Param[]) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true }),
    (ps: Param[]) => new Adam(ps, { lr: 0.01, weightDecay: 0.01 }),
    (ps: Param[]) => new AdamW(ps, { lr: 0.01 }),
    (ps: Param[]) => new Lion(ps, { lr: 1e-3, weightDecay: 0.1 }),
  ];
  for (const mk of make) {
    const a = makeParams(50);
    const optA = mk(a);
    run(optA, a, grads, 0, 3);
    // Simulate a checkpoint: copies of params and of the state through JSON-like plain data.
    const st = optA.state();
    const saved = { kind: st.kind, steps: JSON.parse(JSON.stringify(st.steps)), buffers: st.buffers.map((b) => ({ name: b.name, data: Float32Array.from(b.data) })) };
    const b = a.map((p) => ({ data: p.data.slice(), grad: new Float32Array(p.data.length) }));
    const optB = mk(b);
    optB.loadState(saved);
    run(optA, a, grads, 3, STEPS);
    run(optB, b, grads, 3, STEPS);
    a.forEach((p, i) => assert.deepEqual(b[i].data, p.data, `${optA.kind}: param ${i}`));
    assert.deepEqual(optB.state(), optA.state());
  }
});

test('loadState rejects mismatched state', () => {
  const ps = makeParams(60);
  const adam = new Adam(ps, { lr: 0.01 });
  const st = adam.state();
  assert.throws(() => new Lion(ps, { lr: 0.01 }).loadState(st), /state is for adam/);
  assert.throws(() => new AdamW(ps, { lr: 0.01 }).loadState(st), /state is for adam, this is adamw/);
  assert.throws(() => adam.loadState({ ...st, steps: [0] }), /1 parameters/);
  assert.throws(() => adam.loadState({ ...st, buffers: st.buffers.slice(1) }), /lacks buffer optim.0.exp_avg/);
  const short = st.buffers.map((b, i) => (i === 2 ? { name: b.name, data: new Float32Array(2) } : b));
  assert.throws(() => adam.loadState({ ...st, buffers: short }), /has 2 values, expected 1/);
  assert.throws(() => adam.loadState({ ...st, buffers: [...st.buffers, { name: 'x', data: new Float32Array(1) }] }), /unexpected buffer x/);
});

test('hyperparameter validation', () => {
  const ps = makeParams(70);
  assert.throws(() => new Adam(ps, { lr: -1 }), RangeError);
  assert.throws(() => new Adam(ps, { lr: 1, betas: [1, 0.9] }), RangeError);
  assert.throws(() => new Lion(ps, { lr: 1, betas: [0.9, -0.1] }), RangeError);
  assert.throws(() => new SGD(ps, { lr: 1, nesterov: true }), /nesterov/);
  assert.throws(() => new AdamW(ps, { lr: 1, weightDecay: NaN }), RangeError);
});

// ---------------------------------------------------------------- clipping

test('clipGradNorm: returns the f64 global norm and scales only above maxNorm', () => {
  const a: Param = { data: new Float32Array(2), grad: new Float32Array([3, 0]) };
  const b: Param = { data: new Float32Array(1), grad: new Float32Array([4]) };
  const c: Param = { data: new Float32Array(1), grad: null };
  assert.equal(clipGradNorm([a, b, c], 10), 5);
  assert.deepEqual(Array.from(a.grad!), [3, 0]);
  assert.equal(clipGradNorm([a, b, c], 1), 5);
  const scale = 1 / (5 + 1e-6);
  assert.deepEqual(Array.from(a.grad!), [Math.fround(3 * scale), 0]);
  assert.deepEqual(Array.from(b.grad!), [Math.fround(4 * scale)]);
  assert.ok(Math.abs(clipGradNorm([a, b], 1) - 1) < 1e-6);
  const inf: Param = { data: new Float32Array(1), grad: new Float32Array([Infinity]) };
  assert.equal(clipGradNorm([a, inf], 1), Infinity);
  assert.equal(inf.grad![0], Infinity);
  assert.ok(Number.isNaN(clipGradNorm([{ data: new Float32Array(1), grad: new Float32Array([NaN]) }], 1)));
});

// ---------------------------------------------------------------- schedules

test('warmupCosine: warmup ramp, exact endpoints, midpoint, monotone decay', () => {
  const s = warmupCosine({ base: 3e-4, warmup: 10, total: 110, min: 3e-5 });
  assert.equal(s(0), (3e-4 * 1) / 10);
  assert.equal(s(4), (3e-4 * 5) / 10);
  assert.equal(s(9), 3e-4);
  assert.equal(s(10), 3e-4);
  assert.ok(Math.abs(s(60) - (3e-4 + 3e-5) / 2) < 1e-18);
  assert.equal(s(110), 3e-5);
  assert.equal(s(10_000), 3e-5);
  for (let t = 10; t < 110; t++) assert.ok(s(t + 1) <= s(t), `not monotone at ${t}`);
  const noWarmup = warmupCosine({ base: 1, warmup: 0, total: 4 });
  assert.equal(noWarmup(0), 1);
  assert.equal(noWarmup(2), 0.5);
  assert.equal(noWarmup(4), 0);
  assert.ok(Math.abs(noWarmup(1) - 0.5 * (1 + Math.SQRT1_2)) < 1e-16);
  assert.ok(Math.abs(noWarmup(3) - 0.5 * (1 - Math.SQRT1_2)) < 1e-16);
});

test('schedules reject bad options and bad steps', () => {
  assert.throws(() => warmupCosine({ base: 1, warmup: 5, total: 4 }), RangeError);
  assert.throws(() => warmupCosine({ base: 1, warmup: 0, total: 4, min: 2 }), RangeError);
  const s = warmupCosine({ base: 1, warmup: 2, total: 6, min: 0.2 });
  assert.throws(() => s(-1), RangeError);
  assert.throws(() => s(1.5), RangeError);
});

test('logLinearDecay: lr at the first step, lr/10 at the last, geometric between', () => {
  const s = logLinearDecay(1e-5, 101);
  assert.equal(s(0), 1e-5);
  assert.ok(Math.abs(s(100) - 1e-6) < 1e-20);
  assert.ok(Math.abs(s(50) - 1e-5 / Math.sqrt(10)) < 1e-19);
  assert.equal(logLinearDecay(0.5, 1)(0), 0.5);
});

test('warmupInverseSqrt: linear warmup, then base / sqrt(1 + step/decay), values checked where they are exact', () => {
  const s = warmupInverseSqrt({ base: 3e-3, warmup: 4, decay: 0 });
  assert.deepEqual([0, 1, 2, 3, 4, 1000].map(s), [3e-3 * 0.25, 3e-3 * 0.5, 3e-3 * 0.75, 3e-3, 3e-3, 3e-3]);
  const d = warmupInverseSqrt({ base: 2, warmup: 1, decay: 3 });
  // 1 + step/3 is 1, 4, 9, 16 at steps 0, 9, 24, 45: exact square roots.
  assert.deepEqual([0, 9, 24, 45].map(d), [2, 1, 2 / 3, 0.5]);
  for (let t = 0; t < 200; t++) assert.ok(d(t + 1) < d(t), `not decreasing at ${t}`);
  // Warmup and decay together: the two factors multiply.
  const both = warmupInverseSqrt({ base: 1, warmup: 10, decay: 1 });
  assert.equal(both(3), 0.4 * 0.5);
  assert.throws(() => warmupInverseSqrt({ base: 1, warmup: 0, decay: 0 }), RangeError);
  assert.throws(() => warmupInverseSqrt({ base: 1, warmup: 1, decay: -1 }), RangeError);
  assert.throws(() => d(-1), RangeError);
});
