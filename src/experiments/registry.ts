// Every experiment glassbox can run, in the order `glassbox run --help` lists
// them. A surface (the CLI, a sweep worker, the web lab) finds experiments
// here and nowhere else; adding an experiment is adding its line.

import type { AnyExperiment } from './experiment.js';
import { additionExperiment } from './addition.js';
import { lmExperiment } from './lm.js';
import { saeLmExperiment } from './sae-lm.js';
import { saeAdditionExperiment } from './sae-addition.js';
import { crateFashionExperiment } from './crate-fashion.js';
import { crateMAEExperiment } from './crate-mae.js';
import { interactionsAdditionExperiment } from './interactions-addition.js';
import { scanSnapExperiment } from './scan-snap.js';
import { oversquashExperiment } from './oversquash.js';
import { jrtExperiment } from './jrt.js';

export const EXPERIMENTS: readonly AnyExperiment[] = [additionExperiment, lmExperiment, saeLmExperiment, saeAdditionExperiment, crateFashionExperiment, crateMAEExperiment, interactionsAdditionExperiment, scanSnapExperiment, oversquashExperiment, jrtExperiment];

export function findExperiment(name: string): AnyExperiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new Error(`no experiment named "${name}" (have: ${EXPERIMENTS.map((x) => x.name).join(', ')})`);
  return e;
}
