// `glassbox sweep SPEC` and `glassbox worker`: a sweep of experiment configs on
// local processes or on a Redis queue (src/sweep/). This file parses flags,
// draws the progress (one bar for the sweep, a line per worker) and prints.

import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { intArg, floatArg } from './args.js';
import { formatSeconds } from '../experiments/experiment.js';
import { readSpecFile } from '../sweep/spec.js';
import { runSweep } from '../sweep/sweep.js';
import { rankJobs, countJobs } from '../sweep/state.js';
import type { SweepView } from '../sweep/dispatch.js';

/** One bar for the sweep and a line per worker on a terminal; a plain line every few seconds elsewhere. */
export function cliSweepView(quiet: boolean): SweepView & { stop(): void } {
  if (quiet) return { sweep() {}, worker() {}, note() {}, stop() {} };
  const tty = process.stderr.isTTY === true;
  const multi = tty ? new cliProgress.MultiBar({ stream: process.stderr, hideCursor: true, clearOnComplete: false, barsize: 24, format: '{label}' }, cliProgress.Presets.shades_classic) : null;
  let sweepBar: cliProgress.SingleBar | null = null;
  const lines = new Map<string, cliProgress.SingleBar>();
  let lastPlain = 0;
  let lastText = '';
  return {
    sweep(c, eta) {
      const text = `sweep ${c.done + c.failed}/${c.total} | done ${c.done} | running ${c.running} | failed ${c.failed} | eta ${formatSeconds(eta)}`;
      if (multi) {
        sweepBar ??= multi.create(c.total, 0, {}, { format: 'sweep {bar} {value}/{total} | done {done} | running {running} | failed {failed} | eta {eta}' });
        sweepBar.setTotal(c.total);
        sweepBar.update(c.done + c.failed, { done: c.done, running: c.running, failed: c.failed, eta: formatSeconds(eta) });
      } else if (text !== lastText && (performance.now() - lastPlain > 5000 || c.done + c.failed === c.total)) {
        lastPlain = performance.now();
        lastText = text;
        process.stderr.write(text + '\n');
      }
    },
    worker(name, job, p) {
      if (!multi) return;
      let line = lines.get(name);
      if (!line) {
        line = multi.create(1, 0, { label: '' }, { format: '{label}' });
        lines.set(name, line);
      }
      const what = job === null ? 'idle' : `job ${job}${p ? ` ${p.phase}${p.total > 0 ? ` ${p.done}/${p.total}` : ''}` : ''}`;
      line.update(0, { label: `  ${name}: ${what}` });
    },
    note(message) {
      if (multi) multi.log(message + '\n');
      else process.stderr.write(message + '\n');
    },
    stop() {
      multi?.stop();
    },
  };
}

export function registerSweepCommands(program: Command): void {
  program
    .command('sweep')
    .description('run an experiment over a grid or a seeded random search of its settings (SPEC: a JSON or YAML file), on local processes or on a Redis queue; writes a sweep directory with sweep.json, one run directory per config and report.html')
    .argument('<spec>', 'the sweep: experiment, settings, grid and/or random, metric (see the README)')
    .option('--redis <url>', 'send the jobs to a BullMQ queue at this Redis URL, for `glassbox worker`s to take')
    .addOption(new Option('--workers <n>', 'local job processes (without --redis)').argParser(intArg(1, 256)).default(2))
    .addOption(new Option('--threads <n>', 'matmul threads per job (default: the cores shared among the local processes; with --redis, each worker decides; results are identical for any count)').argParser(intArg(1, 64)))
    .option('--out <dir>', 'parent folder of the sweep directory', 'runs')
    .option('--resume <dir>', 'continue the sweep in this directory (same SPEC): only its unfinished jobs run')
    .option('--queue <name>', 'the queue name (with --redis)', 'glassbox-sweep')
    .option('--shared-runs', 'with --redis: workers write run directories straight into the sweep directory (storage every worker sees at the same path) instead of sending them back')
    .option('--json', 'print sweep.json to stdout at the end')
    .option('--quiet', 'no progress output')
    .action(async (specPath: string, flags: Record<string, unknown>) => {
      const spec = readSpecFile(specPath);
      const json = flags.json === true;
      const view = cliSweepView(json || flags.quiet === true);
      const controller = new AbortController();
      const onSigint = () => {
        view.note('sweep: stopping (finished jobs are kept; continue with --resume; Ctrl-C again to kill)');
        controller.abort();
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', onSigint);
      let outcome;
      try {
        outcome = await runSweep(spec, {
          out: flags.out as string,
          resume: flags.resume as string | undefined,
          workers: flags.workers as number,
          threads: flags.threads as number | undefined,
          redis: flags.redis as string | undefined,
          queue: flags.queue as string,
          sharedRuns: flags.sharedRuns === true,
          view,
          signal: controller.signal,
          specFile: specPath,
        });
      } finally {
        view.stop();
        process.off('SIGINT', onSigint);
      }
      const { state } = outcome;
      if (json) {
        process.stdout.write(JSON.stringify(state, null, 2) + '\n');
        return;
      }
      const c = countJobs(state);
      const best = rankJobs(state)[0];
      const lines = [
        `sweep of ${state.experiment}: ${c.done} done, ${c.failed} failed${c.pending + c.running > 0 ? `, ${c.pending + c.running} unfinished (continue with --resume ${outcome.dir})` : ''} of ${c.total}`,
        best ? `best ${state.metric}: ${best.result?.metric} (job ${best.id}: ${Object.entries(best.swept).map(([k, v]) => `${k}=${v}`).join(' ')})` : `no finished job has ${state.metric}`,
        `sweep directory: ${outcome.dir}`,
        `report: ${outcome.report}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });

  program
    .command('worker')
    .description('take sweep jobs from a Redis queue (`glassbox sweep --redis`) and run them, each in a process of its own, until stopped')
    .requiredOption('--redis <url>', 'the Redis URL the sweep uses')
    .addOption(new Option('--concurrency <n>', 'jobs at a time').argParser(intArg(1, 256)).default(1))
    .addOption(new Option('--threads <n>', 'matmul threads per job (default: what the sweep asks, else the cores of this machine shared among --concurrency jobs)').argParser(intArg(1, 64)))
    .option('--queue <name>', 'the queue name', 'glassbox-sweep')
    .option('--work <dir>', 'where run directories go unless the sweep runs with --shared-runs (they are also sent back; a restarted worker resumes from the checkpoints here)', 'sweep-work')
    .addOption(new Option('--lock-seconds <s>', "how long a job's lock lasts unrenewed: a killed worker's job is retried after about this long").argParser(floatArg(1, 3600)).default(15))
    .option('--quiet', 'no progress output')
    .action(async (flags: Record<string, unknown>) => {
      const { runWorker } = await import('../sweep/redis.js');
      const view = cliSweepView(flags.quiet === true);
      const controller = new AbortController();
      const stop = () => {
        view.note('worker: finishing the jobs in hand, then stopping (Ctrl-C again to kill)');
        controller.abort();
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', () => controller.abort());
      try {
        const r = await runWorker({ url: flags.redis as string, queue: flags.queue as string, concurrency: flags.concurrency as number, threads: flags.threads as number | undefined, work: flags.work as string, lockSeconds: flags.lockSeconds as number, view, signal: controller.signal });
        view.stop();
        process.stdout.write(`worker: ran ${r.jobs} job(s)\n`);
      } finally {
        view.stop();
      }
    });
}
