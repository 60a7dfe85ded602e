// The engine's public face: tensors, autograd, ops, kernels, determinism tools.
export * from './tensor.js';
export * from './ops-elementwise.js';
export * from './ops-reduce.js';
export * from './ops-shape.js';
export * from './ops-nn.js';
export { matmulF32, setThreads, getThreads, shutdownThreads } from './matmul-kernel.js';
export * as detmath from './detmath.js';
export { Rng } from './rng.js';
export { withStepArena, allocF32 } from './arena.js';
export * from './linalg.js';
export * from './optim.js';
export * from './schedule.js';
export * from './safetensors.js';
