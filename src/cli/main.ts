#!/usr/bin/env node
// The glassbox command line. Commands only parse flags, call the library,
// and render results; no numerics live here.

import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerRunCommand } from './run.js';
import { registerEvalCommand } from './eval.js';
import { registerCompressCommands } from './compress.js';
import { registerSaeCommands } from './sae.js';
import { registerCorpusCommands } from './corpus.js';
import { registerLmCommands } from './lm.js';
import { registerAttentionCommand } from './scan-snap.js';
import { registerSweepCommands } from './sweep.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('glassbox')
    .description('Train small transformers deterministically, compress data with them, and open them up.\nWith no command, runs the main job: `glassbox run addition`.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });
  registerRunCommand(program);
  registerEvalCommand(program);
  registerCompressCommands(program);
  registerSaeCommands(program);
  registerCorpusCommands(program);
  registerLmCommands(program);
  registerAttentionCommand(program);
  registerSweepCommands(program);
  return program;
}


// A reader that stops early (`glassbox score FILE | head`) closes the pipe;
// that is the reader's choice, not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  // The main job: a bare `glassbox` (or one with only run-addition flags) runs the addition lab.
  const args = argv.slice(2);
  const commands = new Set(program.commands.map((c) => c.name()));
  const globalFlag = args[0] === '-h' || args[0] === '--help' || args[0] === '-V' || args[0] === '--version';
  const finalArgs = args.length === 0 || (!commands.has(args[0]) && !globalFlag && args[0].startsWith('-')) ? ['run', 'addition', ...args] : args;
  try {
    await program.parseAsync(finalArgs, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`glassbox: ${msg}\n`);
    if (process.env.GLASSBOX_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    process.exitCode = 1;
  }
}

await main(process.argv);
