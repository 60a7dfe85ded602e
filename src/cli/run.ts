// `glassbox run <experiment>`: one subcommand per experiment of the registry (src/cli/experiment-command.ts).

import { Command } from 'commander';
import { EXPERIMENTS } from '../experiments/registry.js';
import { REPORTS } from '../report/renderers.js';
import { registerExperiment } from './experiment-command.js';

export function registerRunCommand(program: Command): void {
  const run = program.command('run').description('run an experiment and write its run directory (config, metrics, checkpoints, result, report)');
  for (const exp of EXPERIMENTS) registerExperiment(run, exp, REPORTS[exp.name]);
}
