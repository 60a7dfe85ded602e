// Sparse autoencoders: models, training, the activation buffer, metrics, dashboards and steering.
export * from './config.js';
export { Sae, type SaeForward, type Selection } from './model.js';
export { gatherLatents, sparseDecode, batchTopKIndices } from './ops.js';
export { geometricMedian } from './geomedian.js';
export { ActivationBuffer, MultiHookBuffer, checkHook, hookActivations, type TokenBatch, type BufferState } from './buffer.js';
export type { HookedModel } from '../../nn/hooks.js';
export { trainSae, SaeTrainer, drawSample, auxKLoss, removeParallelGrad, normalizeDecoderRows, type ActivationStream, type SaeStepRecord, type SaeTrainResult, type SaeTrainerState } from './train.js';
export { reconstructionMetrics, spliceMetrics, spliceMetricsMany, densityHistogram, type ReconstructionMetrics, type SpliceMetrics, type ScoredBatch } from './metrics.js';
export { featureDashboards, steeringHooks, greedyContinue, checkFeature, type FeatureDashboard } from './features.js';
export { describeLatents, countInterpretable, propertiesAt, byteLabel, type LatentDescription, type ByteRows } from './describe.js';
