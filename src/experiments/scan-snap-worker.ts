// A worker of the Figure 6 sweep: computes the runs it is handed, whole, and
// posts each result back by index as it finishes (so a stopped sweep keeps
// every finished run). A run never spans two workers, so the numbers do not
// depend on how many workers there are.

import { parentPort, workerData } from 'node:worker_threads';
import { sweepRun, type SweepRunSpec } from './scan-snap-figure6.js';

const { specs } = workerData as { specs: Array<{ index: number; spec: SweepRunSpec }> };
for (const { index, spec } of specs) parentPort!.postMessage({ index, result: sweepRun(spec) });
