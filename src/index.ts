// glassbox as a library: the engine, the models, training, and the experiments.
export * from './engine/index.js';
export { Module } from './nn/module.js';
export { Hooks, type HookFn } from './nn/hooks.js';
export { GPT, type GPTConfig, type ForwardOptions } from './nn/gpt.js';
export { trainLoop, type TrainEvent, type TrainState } from './train/trainer.js';
export { saveCheckpoint, loadCheckpoint } from './train/checkpoint.js';
export { RunDir } from './train/run-dir.js';
export * as addition from './data/addition.js';
export { runAddition, loadAdditionModel, solveProblem, PRESETS as ADDITION_PRESETS, type AdditionConfig } from './experiments/addition.js';
export type { AdditionResult } from './experiments/addition-result.js';
export * as interactions from './lens/interactions/index.js';
export { Crate, type CrateConfig } from './nn/crate.js';
export { VERSION } from './version.js';
export * as sae from './lens/sae/index.js';
export { compress, decompress, CM_LEVELS, CM_DEFAULT_LEVEL, CM_MAX_LEVEL, type ByteModel } from './codec/cm/index.js';
export { CorruptInputError } from './codec/errors.js';
