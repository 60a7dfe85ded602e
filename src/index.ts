// glassbox as a library: what a user builds with, and nothing the engine
// only needs inside itself. Code in this repository imports the module it
// needs directly; test/package-entry.test.ts keeps this list honest.

// ---------------------------------------------------------------- tensors and ops
export { Tensor, ShapeError, NonFiniteError, noGrad, isGradEnabled, setFiniteCheck, type Shape } from './engine/tensor.js';
export { add, sub, mul, div, addScalar, mulScalar, neg, exp, log, sqrt, rsqrt, square, abs, relu, tanh, sigmoid, gelu } from './engine/ops-elementwise.js';
export { sum, mean, max, argmax } from './engine/ops-reduce.js';
export { reshape, permute, transpose, slice, concat, gather, oneHot, where, maskedFill, causalMask } from './engine/ops-shape.js';
export { matmul, matmulBias, softmax, logSoftmax, crossEntropy, layerNorm, dropout, topk, keepTopK, type MatmulOptions, type CrossEntropyOptions } from './engine/ops-nn.js';
export { alibi, alibiSlopes, rope, sinusoidalTable } from './engine/ops-position.js';
export { withPrecision, getPrecision, parsePrecision, roundBf16, roundFp16, PRECISIONS, type Precision } from './engine/precision.js';

// ---------------------------------------------------------------- determinism tools and engine settings
export { setThreads, getThreads, withThreads, shutdownThreads } from './engine/matmul-kernel.js';
export { withStepArena } from './engine/arena.js';
export { Rng } from './engine/rng.js';
export * as detmath from './engine/detmath.js';
export { encodeSafetensors, decodeSafetensors, SafetensorsError } from './engine/safetensors.js';

// ---------------------------------------------------------------- optimisers and schedules
export { Optimizer, SGD, Adam, AdamW, Lion, clipGradNorm, type Param, type OptimizerState, type SGDOptions, type AdamOptions, type LionOptions } from './engine/optim.js';
export { warmupCosine, oneCycle, logLinearDecay, warmupInverseSqrt, type LrSchedule, type WarmupDecayOptions, type WarmupInverseSqrtOptions } from './engine/schedule.js';

// ---------------------------------------------------------------- models
export { Module, type Init, type InitSpec } from './nn/module.js';
export { Hooks, type HookFn, type HookedModel, type HasHookPoints } from './nn/hooks.js';
export { LayerNorm, Linear, MLP, CausalSelfAttention, seededNormalInit } from './nn/layers.js';
export { GPT, type GPTConfig, type ForwardOptions } from './nn/gpt.js';
export { IncrementalGPT } from './nn/gpt-incremental.js';
export { Crate, type CrateConfig } from './nn/crate.js';
export { ViT, type ViTConfig } from './nn/vit.js';
export { PosGPT, POSITION_ENCODINGS, type PosGPTConfig, type PositionEncoding } from './nn/pos-gpt.js';
export { CrateMAE, type CrateMAEConfig } from './nn/crate-mae.js';

// ---------------------------------------------------------------- training
export { trainLoop, NonFiniteLossError, type TrainEvent, type TrainState, type TrainLoopOptions } from './train/trainer.js';
export { saveCheckpoint, loadCheckpoint } from './train/checkpoint.js';
export { RunDir } from './train/run-dir.js';

// ---------------------------------------------------------------- data
export * as addition from './data/addition.js';
export { loadFashionMnist, type ImageSet } from './data/fashion-mnist.js';
export { buildCorpus, loadCorpus, readManifest as readCorpusManifest } from './data/lm-corpus.js';

// ---------------------------------------------------------------- the compressors
// Both behind one API with the CLI's options (level, static-mode model, seed, chunk size).
export {
  compressBuffer, decompressBuffer, compressStream, decompressStream, PROGRESS_INTERVAL,
  type CompressionOptions, type DecompressionOptions, type CompressionStats, type CompressionProgress, type ByteInput, type ByteOutput,
} from './codec/library.js';
export { loadStaticModel, staticModelFromBytes, checkpointSha256, type StaticModel } from './codec/static-model.js';
export { DEFAULT_CHUNK_SIZE } from './codec/container.js';
// The context mixer alone, with its seam for extra byte models.
export { compress, decompress, CM_LEVELS, CM_DEFAULT_LEVEL, CM_MAX_LEVEL, type ByteModel } from './codec/cm/index.js';
export { CorruptInputError } from './codec/errors.js';

// ---------------------------------------------------------------- lenses
export { attentionLens, detectSnap } from './lens/attention/index.js';
export * as attention from './lens/attention/index.js';
export * as codingRate from './lens/coding-rate.js';
export * as interactions from './lens/interactions/index.js';
export * as sae from './lens/sae/index.js';
export * as oversquash from './lens/oversquash.js';

// ---------------------------------------------------------------- the language model
export { loadModel, saveLmModel, builtinModelPath, type LoadedLm, type ModelCard } from './lm/model-file.js';
export { generate, sampleFromLogits, type GenerateOptions } from './lm/generate.js';
export { scoreBytes, regionBitsPerByte, type ByteScores, type ScoreOptions } from './lm/score.js';

// ---------------------------------------------------------------- the experiment shell: every experiment, its settings, one way to run it
export { EXPERIMENTS, findExperiment } from './experiments/registry.js';
export { defineExperiment, resolveConfig, finishConfig, Interrupted, SILENT, type Experiment, type AnyExperiment, type RunContext, type Progress } from './experiments/experiment.js';
export { applyOverrides, validateSettings, parseSetting, settingsSchema, nestSettings, SEED, SettingError, type Setting, type SettingsTable, type Preset } from './experiments/settings.js';
export { REPORTS } from './report/renderers.js';
export { saveTrainingCheckpoint, readTrainingCheckpoint, restoreTraining } from './train/resume.js';

// ---------------------------------------------------------------- experiments: run function, config, presets, result
export { loadAdditionModel, solveProblem } from './experiments/addition-model.js';
export { runAddition, additionExperiment, PRESETS as ADDITION_PRESETS, type AdditionConfig } from './experiments/addition.js';
export type { AdditionResult } from './experiments/addition-result.js';
export { runSaeAddition, saeAdditionExperiment, SAE_ADDITION_DEFAULT, type SaeAdditionConfig } from './experiments/sae-addition.js';
export type { SaeAdditionResult } from './experiments/sae-addition-result.js';
export { runInteractionsAddition, interactionsAdditionExperiment, INTERACTIONS_DEFAULTS } from './experiments/interactions-addition.js';
export type { InteractionsAdditionConfig, InteractionsAdditionResult } from './experiments/interactions-addition-result.js';
export { runCrateFashion, crateFashionExperiment, CRATE_FASHION_PRESETS, type CrateFashionConfig, type CrateFashionResult } from './experiments/crate-fashion.js';
export { runCrateMAE, crateMAEExperiment, CRATE_MAE_PRESETS, type CrateMAEExperimentConfig, type CrateMAEResult } from './experiments/crate-mae.js';
export { runScanSnap, scanSnapExperiment, SCAN_SNAP_PRESETS, type ScanSnapConfig, type ScanSnapResult, type ScanSnapFullResult } from './experiments/scan-snap.js';
export { gptSeriesLens, lmLens, type TrainedLensResult } from './experiments/scan-snap-trained.js';
export { runJrt, jrtExperiment, JRT_PRESETS, type JrtConfig, type JrtResult } from './experiments/jrt.js';
export { loadRecallModel, type Architecture as RecallArchitecture } from './experiments/jrt-train.js';
export { Based, BaseConv, TaylorLinearAttention, basedStateBytes, type BasedConfig } from './nn/based.js';
export { BasedRecurrent } from './nn/based-recurrent.js';
export { taskBatch, checkMqar, HeldOut, type RecallBatch, type TaskShape } from './data/recall-tasks.js';
export { runLm, lmExperiment, LM_PRESETS, type LmConfig, type LmResult } from './experiments/lm.js';
export { runSaeLm, saeLmExperiment, SAE_LM_PRESETS, type SaeLmConfig } from './experiments/sae-lm.js';
export { checkSaeModel } from './experiments/sae-lm-eval.js';
export type { SaeLmResult } from './experiments/sae-lm-result.js';
export { runOversquash, oversquashExperiment, OVERSQUASH_PRESETS, type OversquashConfig, type OversquashResult } from './experiments/oversquash.js';

// ---------------------------------------------------------------- sweeps: many configs of one experiment, locally or on a Redis queue
export * as sweep from './sweep/index.js';

export { VERSION } from './version.js';
