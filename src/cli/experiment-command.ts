// `glassbox run <experiment>` for every experiment of the registry, from its
// settings table: one flag per setting, the shared flags (--preset, --threads,
// --out, --json, --quiet, --resume), Ctrl-C → AbortSignal, a progress bar per
// phase, then the summary or --json. This is the only place these are written.

import { Command, Option, InvalidArgumentError } from 'commander';
import { threadsOption, applyThreads } from './args.js';
import { progressBar, type ProgressBar } from './progress.js';
import { finishConfig, type AnyExperiment, type Progress } from '../experiments/experiment.js';
import { cloneConfig, flagName, getAt, parseSetting, setAt, settingPaths, type SettingSpec } from '../experiments/settings.js';

function argName(s: SettingSpec): string {
  if (s.arg) return s.arg;
  if (s.type.endsWith('[]')) return 'list';
  if (s.type === 'int') return 'n';
  if (s.type === 'number') return 'x';
  return s.choices ? 'name' : 'text';
}

function show(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** "(default: 3; seed preset: 8)": the value under each preset, where they differ. */
function defaultsText(exp: AnyExperiment, path: string): string {
  const base = getAt(exp.presets[exp.defaultPreset].config, path);
  const others = Object.entries(exp.presets)
    .filter(([n, p]) => n !== exp.defaultPreset && JSON.stringify(getAt(p.config, path)) !== JSON.stringify(base))
    .map(([n, p]) => `${n} preset: ${show(getAt(p.config, path))}`);
  return `(default: ${show(base)}${others.length ? '; ' + others.join('; ') : ''})`;
}

/** A progress bar per phase on stderr, or nothing when quiet. */
export function cliProgress(quiet: boolean): Progress & { close(): void } {
  let bar: ProgressBar | null = null;
  const close = () => {
    bar?.stop();
    bar = null;
  };
  return {
    phase(name, total, fields = []) {
      close();
      if (quiet) return;
      const tail = fields.map((f) => `${f} {${f}}`).join(' | ');
      bar = progressBar(total, `${name} {bar} {value}/{total}${tail ? ' | ' + tail : ''}`);
    },
    update(done, values = {}) {
      bar?.update(done, values);
    },
    note(message) {
      close();
      if (!quiet) process.stderr.write(message + '\n');
    },
    close,
  };
}

export function registerExperiment(run: Command, exp: AnyExperiment, render?: (result: unknown, extra?: unknown) => string): Command {
  const cmd = run.command(exp.name).description(exp.description);
  const presetHelp = Object.entries(exp.presets).map(([n, p]) => `${n}: ${p.help}`).join('; ');
  cmd.addOption(new Option('--preset <name>', `starting configuration. ${presetHelp}`).choices(Object.keys(exp.presets)).default(exp.defaultPreset));
  const attrs: Array<{ path: string; attr: string }> = [];
  for (const path of settingPaths(exp.settings)) {
    const s = (exp.settings as Record<string, SettingSpec>)[path];
    if (s.internal) continue;
    const flag = flagName(path, s);
    const help = `${s.help} ${defaultsText(exp, path)}`;
    if (s.type === 'boolean') {
      const on = new Option(`--${flag}`, help);
      cmd.addOption(on);
      cmd.addOption(new Option(`--no-${flag}`, `turn off --${flag}`));
      attrs.push({ path, attr: on.attributeName() });
      continue;
    }
    const opt = new Option(`--${flag} <${argName(s)}>`, help).argParser((text: string) => {
      try {
        return parseSetting(path, s, text);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    });
    if (s.choices && !s.type.endsWith('[]')) opt.choices([...s.choices]);
    cmd.addOption(opt);
    attrs.push({ path, attr: opt.attributeName() });
  }
  cmd.addOption(threadsOption());
  cmd.option('--out <dir>', 'parent folder of run directories', 'runs');
  if (exp.resumable) cmd.option('--resume <checkpoint>', 'continue an interrupted run from the checkpoint it names (same settings), bit-identically');
  cmd.option('--json', 'print the result as JSON to stdout');
  cmd.option('--quiet', 'no progress output');
  cmd.action(async (flags: Record<string, unknown>) => {
    const presetName = flags.preset as string;
    let config = cloneConfig(exp.presets[presetName].config);
    const given = new Set<string>();
    for (const { path, attr } of attrs) {
      const v = flags[attr];
      if (v === undefined) continue;
      config = setAt(config, path, v);
      given.add(path);
    }
    const resolved = finishConfig(exp, presetName, config, given);
    applyThreads(flags.threads as number | undefined);
    const json = flags.json === true;
    const progress = cliProgress(json || flags.quiet === true);
    const controller = new AbortController();
    const onSigint = () => {
      progress.note(`${exp.name}: stopping at the next step (Ctrl-C again to kill)`);
      controller.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    let result: unknown;
    try {
      result = await exp.run(resolved.config, {
        outRoot: flags.out as string,
        resume: flags.resume as string | undefined,
        signal: controller.signal,
        progress,
        render,
        preset: resolved.preset,
      });
    } finally {
      progress.close();
      process.off('SIGINT', onSigint);
    }
    if (json) process.stdout.write(JSON.stringify(exp.json ? exp.json(result) : result, null, 2) + '\n');
    else {
      const lines = exp.summary(result);
      const stopped = exp.interrupted?.(result);
      if (stopped) lines.push(stopped);
      process.stdout.write(lines.join('\n') + '\n');
    }
  });
  return cmd;
}
