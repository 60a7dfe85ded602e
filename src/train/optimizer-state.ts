// An optimiser's state in a checkpoint: its moment buffers as named tensors
// (under `optimizer.`) and its scalars (kind, per-parameter step counts) as
// JSON metadata. Every resumable experiment stores and restores it the same way.

import type { OptimizerState } from '../engine/optim.js';
import { OPTIMIZER_PREFIX } from './checkpoint.js';

export function optimizerStateTo(state: OptimizerState): { tensors: Array<{ name: string; shape: number[]; data: Float32Array }>; scalars: unknown } {
  const tensors = state.buffers.map((b) => ({ name: OPTIMIZER_PREFIX + b.name, shape: [b.data.length], data: b.data }));
  return { tensors, scalars: { kind: state.kind, steps: state.steps } };
}

export function optimizerStateFrom(all: Map<string, { shape: number[]; data: Float32Array }>, scalars: unknown): OptimizerState {
  const s = scalars as { kind: string; steps: number[] } | undefined;
  if (!s || typeof s.kind !== 'string' || !Array.isArray(s.steps)) throw new Error('checkpoint has no optimizer state to resume from');
  const buffers = [...all].filter(([n]) => n.startsWith(OPTIMIZER_PREFIX)).map(([n, t]) => ({ name: n.slice(OPTIMIZER_PREFIX.length), data: t.data }));
  return { kind: s.kind, steps: s.steps, buffers };
}
