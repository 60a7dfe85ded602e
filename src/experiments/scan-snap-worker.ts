// A worker of the Figure 6 sweep: computes the runs it is handed, whole, and
// posts their results back by index. A run never spans two workers, so the
// numbers do not depend on how many workers there are.

import { parentPort, workerData } from 'node:worker_threads';
import { sweepRun, type SweepRunSpec } from './scan-snap-figure6.js';

const { specs } = workerData as { specs: Array<{ index: number; spec: SweepRunSpec }> };
const out = specs.map(({ index, spec }) => ({ index, result: sweepRun(spec) }));
parentPort!.postMessage(out);
