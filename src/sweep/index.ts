// The sweep as a library: `sweep.runSweep(spec, opts)` is `glassbox sweep`,
// `sweep.runWorker(opts)` is `glassbox worker` (BullMQ is loaded only then).

import type { WorkerOptions } from './redis.js';

export { runSweep, QUIET_VIEW, type SweepOptions, type SweepOutcome } from './sweep.js';
export type { SweepView } from './dispatch.js';
export { readSpecFile, checkSpec, expandSpec, specDigest, SpecError, type SweepSpec, type SweepPoint, type RandomDim } from './spec.js';
export { readSweepState, rankJobs, countJobs, type SweepState, type SweepJobRecord, type JobState } from './state.js';
export { resultDigest, stableResult, type JobResult } from './job.js';
export type { WorkerOptions } from './redis.js';

/** Take jobs from the sweep queue at `opts.url` until `opts.signal` fires. */
export async function runWorker(opts: WorkerOptions): Promise<{ jobs: number }> {
  const { runWorker: run } = await import('./redis.js');
  return run(opts);
}
