// Everything the engine offers, for code inside the repository; the package
// entry (src/index.ts) picks the part a user builds with.
export * from './tensor.js';
export * from './ops-elementwise.js';
export * from './ops-reduce.js';
export * from './ops-shape.js';
export * from './ops-nn.js';
export * from './ops-position.js';
export * from './precision.js';
export { matmulF32, setThreads, getThreads, shutdownThreads } from './matmul-kernel.js';
export * as detmath from './detmath.js';
export { Rng } from './rng.js';
export { withStepArena, allocF32 } from './arena.js';
export * from './linalg.js';
export * from './optim.js';
export * from './schedule.js';
export * from './safetensors.js';
