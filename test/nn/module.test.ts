// Names come from the module tree: a parameter's state-dict name, its init key
// and a hook point's name are each its module's path plus one segment. These
// tests pin the mechanism on a toy tree, and pin what the models expose (hook
// names, parameter names, initial values) to what they were when every name
// was typed out by hand, since saved SAEs, checkpoints and seeds depend on them.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Module, type Init } from '../../src/nn/module.js';
import { ParamGroup } from '../../src/nn/layers.js';
import { Hooks } from '../../src/nn/hooks.js';
import { Tensor } from '../../src/engine/tensor.js';
import { GPT } from '../../src/nn/gpt.js';
import { Crate } from '../../src/nn/crate.js';
import { ViT } from '../../src/nn/vit.js';
import { CrateMAE } from '../../src/nn/crate-mae.js';

class Leaf extends Module {
  readonly w = this.param('w', Tensor.zeros([3]), { std: 1 });
  readonly fixed = this.param('fixed', new Tensor(Float32Array.of(7, 7), [2]));
  readonly point = this.hookPoint('hook_out');
  forward(x: Tensor, hooks: Hooks): Tensor {
    return this.point.run(hooks, x);
  }
}

class Pair extends Module {
  readonly before = this.hookPoint('hook_in');
  readonly a = this.child('a', new Leaf());
  readonly mid = this.hookPoint('hook_mid');
  readonly b = this.child('b', new Leaf(), { namesAtParent: true });
}

class Root extends Module {
  readonly pairs = [this.child('pairs.0', new Pair()), this.child('pairs.1', new Pair())];
  readonly table = this.child('table', new ParamGroup()).add('W', Tensor.zeros([2]), { std: 0.5, dist: 'uniform' });
}

/** An Init that records the keys it was asked for and fills each parameter with its key's length. */
function recording(): { init: Init; calls: Array<[string, number, number, string]> } {
  const calls: Array<[string, number, number, string]> = [];
  const init: Init = (name, n, std, dist = 'normal') => {
    calls.push([name, n, std, dist]);
    return new Float32Array(n).fill(name.length);
  };
  return { init, calls };
}

test('paths, parameter names, hook names and init keys all follow the tree', () => {
  const root = new Root();
  assert.equal(root.path, '');
  assert.equal(root.pairs[1].a.path, 'pairs.1.a.');
  assert.deepEqual(root.namedParameters().map(([n]) => n), [
    'pairs.0.a.w', 'pairs.0.a.fixed', 'pairs.0.b.w', 'pairs.0.b.fixed',
    'pairs.1.a.w', 'pairs.1.a.fixed', 'pairs.1.b.w', 'pairs.1.b.fixed', 'table.W',
  ]);
  // Hook points and children interleave in registration order; `b` names its point at its parent's level.
  assert.deepEqual(root.hookNames(), [
    'pairs.0.hook_in', 'pairs.0.a.hook_out', 'pairs.0.hook_mid', 'pairs.0.hook_out',
    'pairs.1.hook_in', 'pairs.1.a.hook_out', 'pairs.1.hook_mid', 'pairs.1.hook_out',
  ]);
  const { init, calls } = recording();
  root.initParameters(init);
  // Only parameters with an InitSpec are drawn, under their name paths (b's at its parent's level).
  assert.deepEqual(calls, [
    ['pairs.0.a.w', 3, 1, 'normal'], ['pairs.0.w', 3, 1, 'normal'],
    ['pairs.1.a.w', 3, 1, 'normal'], ['pairs.1.w', 3, 1, 'normal'], ['table.W', 2, 0.5, 'uniform'],
  ]);
  assert.deepEqual(Array.from(root.pairs[0].a.w.data), [11, 11, 11]);
  assert.deepEqual(Array.from(root.pairs[0].a.fixed.data), [7, 7]);
  // A module on its own is a root: its names start at itself.
  assert.deepEqual(new Pair().hookNames(), ['hook_in', 'a.hook_out', 'hook_mid', 'hook_out']);
});

test('a hook point runs under its full name', () => {
  const root = new Root();
  const hooks = new Hooks({ cache: ['pairs.1.a.hook_out'], replace: { 'pairs.1.hook_out': (v) => new Tensor(v.data.map((x) => -x), v.shape) } });
  const x = new Tensor(Float32Array.of(1, 2), [2]);
  root.pairs[1].a.forward(x, hooks);
  assert.deepEqual(Array.from(hooks.cache.get('pairs.1.a.hook_out')!.data), [1, 2]);
  assert.deepEqual(Array.from(root.pairs[1].b.forward(x, hooks).data), [-1, -2]);
  assert.deepEqual(Array.from(root.pairs[0].b.forward(x, hooks).data), [1, 2], 'the other pair is not touched');
});

test('a module registered twice is refused with both places named', () => {
  class Twice extends Module {
    constructor() {
      super();
      const leaf = this.child('first', new Leaf());
      this.child('second', leaf);
    }
  }
  assert.throws(() => new Twice(), /second is already registered as first; a module has one place in the tree/);
});

// ---------------------------------------------------------------- the models' names, as they were

/** `top`, then `perLayer` under `prefix{i}.` for each layer, then `tail`. */
function expand(layers: number, parts: Array<string[] | [string, string[]]>): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (typeof p[1] === 'object') {
      const [prefix, names] = p as [string, string[]];
      for (let i = 0; i < layers; i++) out.push(...names.map((n) => `${prefix}.${i}.${n}`));
    } else out.push(...(p as string[]));
  }
  return out;
}

const GPT_BLOCK = ['hook_resid_pre', 'attn.hook_q', 'attn.hook_k', 'attn.hook_v', 'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z', 'hook_attn_out', 'hook_resid_mid', 'mlp.hook_pre', 'mlp.hook_post', 'hook_mlp_out', 'hook_resid_post'];
const VIT_BLOCK = GPT_BLOCK.filter((n) => n !== 'attn.hook_attn_scores');
const CRATE_BLOCK = ['hook_resid_pre', 'attn.hook_w', 'attn.hook_pattern', 'attn.hook_z', 'hook_attn_out', 'hook_resid_mid', 'ista.hook_pre', 'ista.hook_post', 'hook_resid_post'];
const DECODER_BLOCK = ['hook_resid_pre', 'hook_linear_out', 'attn.hook_w', 'attn.hook_pattern', 'attn.hook_z', 'hook_attn_out', 'hook_resid_post'];

const img = { channels: 1, height: 8, width: 8, patch: 4 };
// SHA-256 over (name, f32 bytes) of every initial parameter, computed when each init key was typed out by hand.
const cases: Array<{ label: string; model: () => Module & { hookNames(): string[] }; hooks: string[]; sha256: string; some: string[] }> = [
  {
    label: 'GPT', model: () => new GPT({ vocabSize: 11, contextLength: 6, nLayers: 2, nHeads: 2, dModel: 8, seed: 3 }),
    hooks: expand(2, [['hook_embed', 'hook_pos_embed'], ['blocks', GPT_BLOCK], ['ln_final.hook_normalized']]),
    sha256: 'c063ccdfffb5fec6eabf5f52ef368cdd5c3972a8bc1c683ec8d14660728a4e9b',
    some: ['embed.W_E', 'pos_embed.W_pos', 'blocks.1.attn.W_Q', 'blocks.1.mlp.W_out', 'ln_final.w', 'unembed.W_U', 'unembed.b_U'],
  },
  {
    label: 'GPT, tied', model: () => new GPT({ vocabSize: 11, contextLength: 6, nLayers: 1, nHeads: 2, dModel: 8, tieWeights: true, seed: 4 }),
    hooks: expand(1, [['hook_embed', 'hook_pos_embed'], ['blocks', GPT_BLOCK], ['ln_final.hook_normalized']]),
    sha256: '7a5e26b67041195948ff771f5ee5103bf7b3668e6c89dee07cf7af13196cf41a',
    some: ['embed.W_E', 'unembed.b_U'],
  },
  {
    label: 'CRATE', model: () => new Crate({ ...img, classes: 3, dModel: 8, nHeads: 2, nLayers: 2, seed: 5 }),
    hooks: expand(2, [['hook_embed', 'hook_pos_embed'], ['blocks', CRATE_BLOCK], ['ln_final.hook_normalized']]),
    sha256: 'cf13c929ea4c3918d3ef2e86adf20620d5b34555cef3901f31de3c2f204dadec',
    some: ['embed.proj.W', 'tokens.cls_token.W_cls', 'tokens.pos_embed.W_pos', 'blocks.1.attn.U', 'blocks.1.ista.D', 'head.W'],
  },
  {
    label: 'ViT', model: () => new ViT({ ...img, classes: 3, dModel: 8, nHeads: 2, nLayers: 2, seed: 6 }),
    hooks: expand(2, [['hook_embed', 'hook_pos_embed'], ['blocks', VIT_BLOCK], ['ln_final.hook_normalized']]),
    sha256: '69da241979e92e5d5d36dc3c8138be34272a5d4612d25342e97aae6dafc1f86e',
    some: ['tokens.pos_embed.W_pos', 'blocks.0.attn.W_V', 'blocks.1.mlp.W_in'],
  },
  {
    label: 'CRATE-MAE', model: () => new CrateMAE({ ...img, dModel: 8, nHeads: 2, nLayers: 2, seed: 7 }),
    hooks: expand(2, [['hook_embed'], ['blocks', CRATE_BLOCK], ['decoder', DECODER_BLOCK]]),
    sha256: '4dab47b95dca1287bc8d5240197b5d0cec280afea8c9b2589981fe95601199e1',
    some: ['pos_embed.W_pos', 'mask_token.W_mask', 'decoder_pos_embed.W_pos', 'decoder.1.linear.D', 'decoder.1.attn.U', 'head.W'],
  },
];

for (const c of cases) {
  test(`${c.label}: hook names, parameter names and initial values are those it always had`, () => {
    const m = c.model();
    assert.deepEqual(m.hookNames(), c.hooks);
    const names = m.namedParameters().map(([n]) => n);
    for (const n of c.some) assert.ok(names.includes(n), `${n} is a parameter`);
    const h = createHash('sha256');
    for (const [n, t] of m.namedParameters()) {
      h.update(n);
      h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    assert.equal(h.digest('hex'), c.sha256);
  });
}
