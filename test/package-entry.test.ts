// The package entry, imported by its name as a user would (`import ... from
// 'glassbox'` resolves through package.json's "exports"): every public name
// is there and is what it claims to be, and the engine's internals are not.

import test from 'node:test';
import assert from 'node:assert/strict';

const entry = (await import('glassbox' as string)) as Record<string, unknown>;

const FUNCTIONS = [
  'runSaeLm', 'checkSaeModel', 'lmLens', 'gptSeriesLens',
  // tensors, ops, engine settings
  'noGrad', 'isGradEnabled', 'setFiniteCheck', 'add', 'sub', 'mul', 'div', 'exp', 'log', 'gelu', 'relu', 'tanh', 'sigmoid',
  'sum', 'mean', 'max', 'argmax', 'reshape', 'permute', 'transpose', 'slice', 'concat', 'gather', 'oneHot', 'where', 'causalMask',
  'matmul', 'matmulBias', 'softmax', 'logSoftmax', 'crossEntropy', 'layerNorm', 'dropout', 'topk', 'keepTopK',
  'setThreads', 'getThreads', 'shutdownThreads', 'withStepArena', 'encodeSafetensors', 'decodeSafetensors',
  // optimisers, schedules, training
  'clipGradNorm', 'warmupCosine', 'oneCycle', 'logLinearDecay', 'warmupInverseSqrt', 'seededNormalInit', 'trainLoop', 'saveCheckpoint', 'loadCheckpoint',
  // data, codec, lenses, the LM
  'loadFashionMnist', 'buildCorpus', 'loadCorpus', 'readCorpusManifest', 'compress', 'decompress', 'attentionLens', 'detectSnap',
  'compressBuffer', 'decompressBuffer', 'compressStream', 'decompressStream', 'loadStaticModel', 'staticModelFromBytes', 'checkpointSha256',
  'loadModel', 'saveLmModel', 'builtinModelPath', 'generate', 'sampleFromLogits', 'scoreBytes', 'regionBitsPerByte',
  // each experiment's run function
  'runAddition', 'loadAdditionModel', 'solveProblem', 'runSaeAddition', 'runInteractionsAddition', 'runCrateFashion', 'runCrateMAE', 'runScanSnap', 'runLm',
  'runOversquash', 'withPrecision', 'getPrecision', 'parsePrecision', 'roundBf16', 'roundFp16', 'alibi', 'alibiSlopes', 'rope', 'sinusoidalTable',
  'runJrt', 'loadRecallModel', 'basedStateBytes', 'taskBatch', 'checkMqar',
  // the experiment shell
  'findExperiment', 'defineExperiment', 'resolveConfig', 'finishConfig', 'applyOverrides', 'validateSettings', 'parseSetting', 'settingsSchema', 'nestSettings',
  'withThreads', 'saveTrainingCheckpoint', 'readTrainingCheckpoint', 'restoreTraining',
];

const CLASSES = [
  'Tensor', 'ShapeError', 'NonFiniteError', 'Rng', 'SafetensorsError', 'Optimizer', 'SGD', 'Adam', 'AdamW', 'Lion',
  'Module', 'Hooks', 'LayerNorm', 'Linear', 'MLP', 'CausalSelfAttention', 'GPT', 'IncrementalGPT', 'Crate', 'ViT', 'CrateMAE',
  'PosGPT',
  'NonFiniteLossError', 'RunDir', 'CorruptInputError', 'Interrupted', 'SettingError',
  'Based', 'BaseConv', 'TaylorLinearAttention', 'BasedRecurrent', 'HeldOut',
];

const NAMESPACES: Record<string, string[]> = {
  detmath: ['exp', 'log', 'log2', 'tanh', 'sigmoid', 'cosPi'],
  addition: ['AdditionTask', 'lossFloor', 'encodeBatch', 'parseProblem'],
  attention: ['attentionLens', 'patternStats', 'detectSnap', 'seriesCurves'],
  codingRate: ['measureLayers', 'meanCodingRate', 'meanCompressionRate', 'sparsity'],
  interactions: ['computeInteractions', 'maskedOutputs', 'sparsifyAndOr', 'salientInteractions', 'jaccardPerOrder'],
  sae: ['Sae', 'trainSae', 'ActivationBuffer', 'reconstructionMetrics', 'spliceMetrics', 'featureDashboards', 'steeringHooks'],
  sweep: ['runSweep', 'runWorker', 'readSpecFile', 'checkSpec', 'expandSpec', 'specDigest', 'SpecError', 'readSweepState', 'rankJobs', 'resultDigest'],
  oversquash: ['lastTokenDistances', 'collapseLength', 'checkPair', 'influenceByPosition', 'vectorDistance'],
};

const PRESETS = ['ADDITION_PRESETS', 'SAE_ADDITION_DEFAULT', 'INTERACTIONS_DEFAULTS', 'CRATE_FASHION_PRESETS', 'CRATE_MAE_PRESETS', 'SCAN_SNAP_PRESETS', 'LM_PRESETS', 'SAE_LM_PRESETS', 'CM_LEVELS', 'OVERSQUASH_PRESETS', 'JRT_PRESETS'];

/** Engine plumbing that ops and kernels share among themselves; a user never needs it. */
const INTERNALS = [
  'result', 'accumulateGrad', 'gradBuffer', 'allocF32', 'allocOutput', 'f32From', 'inWasmMemory', 'generationOf',
  'reduceToShape', 'broadcastShapes', 'stridedIndex', 'stridesOf', 'normAxis', 'shapeSize', 'shapeStr', 'causalMaskBits',
  'matmulF32', 'matmulReference', 'setMainThreadWorks', 'setParallelMinFlops', 'setElementwiseWasmMin', 'wasmKernels',
  'cholesky', 'choleskyLogdet', 'OPTIMIZER_PREFIX', 'optimizerStateTo', 'optimizerStateFrom', 'modelTensors', 'checkHookNames',
];

test('every experiment is exported on the shell, and the registry holds exactly those', () => {
  const names = ['additionExperiment', 'lmExperiment', 'saeLmExperiment', 'saeAdditionExperiment', 'crateFashionExperiment', 'crateMAEExperiment', 'interactionsAdditionExperiment', 'scanSnapExperiment', 'oversquashExperiment', 'jrtExperiment'];
  const registry = entry.EXPERIMENTS as Array<{ name: string; run: unknown; settings: unknown }>;
  for (const n of names) {
    const e = entry[n] as { name: string; run: unknown };
    assert.equal(typeof e?.run, 'function', `${n} is not an experiment`);
    assert.ok(registry.includes(e as (typeof registry)[number]), `${n} (${e.name}) is not in EXPERIMENTS`);
  }
  assert.equal(registry.length, names.length, 'an experiment in EXPERIMENTS is not exported (add it to this list and to src/index.ts)');
  for (const e of registry) assert.equal(typeof (entry.REPORTS as Record<string, unknown>)[e.name], 'function', `no report renderer for ${e.name}`);
});

test('the package entry is reachable by its name and is the built src/index.js', async () => {
  const direct = (await import('../src/index.js')) as Record<string, unknown>;
  assert.equal(entry.GPT, direct.GPT);
  assert.equal(entry.VERSION, direct.VERSION);
  assert.equal(typeof entry.VERSION, 'string');
});

test('the models, optimisers, trainer, codec, lenses and every experiment are exported', () => {
  for (const name of FUNCTIONS) assert.equal(typeof entry[name], 'function', `${name} is not an exported function`);
  for (const name of CLASSES) {
    assert.equal(typeof entry[name], 'function', `${name} is not exported`);
    assert.ok(typeof (entry[name] as { prototype?: unknown }).prototype === 'object', `${name} is not a class`);
  }
  for (const [ns, names] of Object.entries(NAMESPACES)) {
    const m = entry[ns] as Record<string, unknown> | undefined;
    assert.ok(m && typeof m === 'object', `namespace ${ns} is not exported`);
    for (const name of names) assert.equal(typeof m[name], 'function', `${ns}.${name} is not exported`);
  }
  for (const name of PRESETS) assert.ok(entry[name] && typeof entry[name] === 'object', `${name} is not exported`);
});

test('engine internals stay out of the package entry', () => {
  const leaked = INTERNALS.filter((name) => name in entry);
  assert.deepEqual(leaked, [], `internals exported: ${leaked.join(', ')}`);
});

test('the exported pieces fit together: a GPT trained one step with AdamW through trainLoop, its bytes through the compressor', async () => {
  const { GPT: G, AdamW: A, trainLoop: loop, compress: c, decompress: d } = entry as {
    GPT: typeof import('../src/nn/gpt.js').GPT;
    AdamW: typeof import('../src/engine/optim.js').AdamW;
    trainLoop: typeof import('../src/train/trainer.js').trainLoop;
    compress: typeof import('../src/codec/cm/index.js').compress;
    decompress: typeof import('../src/codec/cm/index.js').decompress;
  };
  const model = new G({ vocabSize: 8, contextLength: 4, nLayers: 1, nHeads: 2, dModel: 8, seed: 3 });
  const params = model.parameters();
  const inputs = Int32Array.from([1, 2, 3, 4]);
  const targets = Int32Array.from([2, 3, 4, 5]);
  const state = await loop({
    steps: 2, params, optimizer: new A(params, { lr: 1e-2 }), lrAt: () => 1e-2,
    batchAt: () => ({ inputs, targets, B: 1, T: 4 }), lossOf: (b) => model.loss(b.inputs, b.targets, b.B, b.T),
  });
  assert.equal(state.step, 2);
  assert.ok(state.cumBits > 0);
  const bytes = new TextEncoder().encode('the package entry, the package entry, the package entry');
  assert.deepEqual(await d(await c(bytes, { level: 1 })), bytes);
});
