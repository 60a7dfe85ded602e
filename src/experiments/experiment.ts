// The experiment shell. An experiment is one value of type `Experiment`: its
// settings table, its presets, and a `run` that takes a config and a context
// (where to write, whether to resume, when to stop, whom to tell about
// progress). Every surface drives experiments through this one shape: the CLI
// (src/cli/experiment-command.ts) turns the table into flags, a sweep turns
// "key=value" lines into configs, a web page turns it into a form. None of
// them knows an experiment by name, and no experiment knows a surface.

import { applyOverrides, cloneConfig, validateSettings, type Preset, type SettingsTable } from './settings.js';
import type { TrainEvent } from '../train/trainer.js';

/** Progress as an experiment reports it; a surface draws it (a bar, a log line, a queue job's progress). */
export interface Progress {
  /** A new phase of `total` units (steps, SAE steps, sweep runs), with the fields it will show. */
  phase(name: string, total: number, fields?: readonly string[]): void;
  /** How far the current phase is, and the fields' current values. */
  update(done: number, values?: Record<string, string | number>): void;
  /** A one-line message between phases. */
  note(message: string): void;
}

export const SILENT: Progress = { phase() {}, update() {}, note() {} };

export interface RunContext<R> {
  /** Parent folder of run directories. */
  outRoot: string;
  /** Use this exact run directory (tests, and an experiment that runs another first). */
  runDir?: string;
  /** A checkpoint to continue from; only for experiments with `resumable: true`. */
  resume?: string;
  /** Aborting it stops the run at the next step, after a checkpoint where the experiment keeps one. */
  signal: AbortSignal;
  progress: Progress;
  /** The report renderer (a surface owns it); without one no report.html is written. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  render?: (result: R, extra?: any) => string;
  /** The preset the config came from, or 'custom' when settings were changed. */
  preset: string;
}

export interface Experiment<C, R> {
  /** The name after `glassbox run`, and the run directory's prefix. */
  name: string;
  /** One paragraph for --help. */
  description: string;
  settings: SettingsTable<C>;
  presets: Record<string, Preset<C>>;
  defaultPreset: string;
  /**
   * Settings derived from others once the user's values are in (e.g. the
   * warmup capped at the steps). `given` holds the paths the user set.
   */
  adjust?(cfg: C, given: ReadonlySet<string>): C;
  /** Checks across settings (heads divide d-model); the table checks each value alone. */
  validate?(cfg: C): void;
  /** Whether `--resume CHECKPOINT` continues a run bit-identically. */
  resumable: boolean;
  /** Where a stopped run in `runDir` keeps the checkpoint `--resume` takes (a sweep's retried job continues from it). */
  resumeCheckpoint?(runDir: string): string;
  run(cfg: C, ctx: RunContext<R>): Promise<R>;
  /** The human summary, one string per line. */
  summary(result: R): string[];
  /** What --json prints (default: the whole result). */
  json?(result: R): unknown;
  /** Whether the result says the run was interrupted, and how to continue it. */
  interrupted?(result: R): string | null;
}

/** An experiment of any config and result, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyExperiment = Experiment<any, any>;

/** Helps the compiler infer C and R from the table and the run function. */
export function defineExperiment<C, R>(e: Experiment<C, R>): Experiment<C, R> {
  if (!(e.defaultPreset in e.presets)) throw new Error(`experiment ${e.name}: default preset "${e.defaultPreset}" is not among its presets`);
  return e;
}

/**
 * The config a run gets: a preset, then the user's overrides (by path or flag
 * name, as text), then the derived settings, then every check. Throws naming
 * the bad setting.
 */
export function resolveConfig<C>(exp: Experiment<C, unknown>, presetName: string | undefined, overrides: Record<string, string> = {}): { config: C; preset: string; given: Set<string> } {
  const name = presetName ?? exp.defaultPreset;
  const preset = exp.presets[name];
  if (!preset) throw new Error(`${exp.name}: no preset "${name}" (have: ${Object.keys(exp.presets).join(', ')})`);
  const { config, given } = applyOverrides(exp.settings, cloneConfig(preset.config), overrides);
  return finishConfig(exp, name, config, given);
}

/** Derived settings and checks on a config built from typed values (the CLI's parsed flags). */
export function finishConfig<C>(exp: Experiment<C, unknown>, presetName: string, config: C, given: Set<string>): { config: C; preset: string; given: Set<string> } {
  const adjusted = exp.adjust ? exp.adjust(config, given) : config;
  validateSettings(exp.settings, adjusted);
  exp.validate?.(adjusted);
  const same = JSON.stringify(adjusted) === JSON.stringify(exp.presets[presetName].config);
  return { config: adjusted, preset: same ? presetName : 'custom', given };
}

/** A training step as progress fields: loss, throughput, time left. */
export function trainStepFields(e: Extract<TrainEvent, { type: 'step' }>, lossScale = 1): Record<string, string | number> {
  return { loss: (e.loss * lossScale).toFixed(4), tps: Math.round(e.tokensPerSecond), eta: formatSeconds(e.etaSeconds) };
}

/** Seconds as `4m05s` (progress bars, summaries). */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  // Round the total first, so 119.6 s reads 2m00s, not 1m60s.
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  const sec = total - m * 60;
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * An experiment whose result needs the whole run stops on the signal by
 * throwing this: the run directory keeps what was written (config.json,
 * metrics.jsonl, and the checkpoint where it resumes), and the message says
 * where it stopped and how to go on.
 */
export class Interrupted extends Error {
  constructor(where: string, resumable = false) {
    super(resumable ? `interrupted ${where}` : `interrupted ${where}; this experiment does not resume, so run it again to finish (its run directory keeps the metrics so far)`);
    this.name = 'Interrupted';
  }
}

/** Throws Interrupted when the signal has fired; with `checkpoint`, the message says how to resume from it. */
export function stopIfAborted(signal: AbortSignal | undefined, where: string, checkpoint?: string): void {
  if (signal?.aborted) throw checkpoint ? new Interrupted(`${where}; resume with --resume ${checkpoint}`, true) : new Interrupted(where);
}

export { eventLoopTurns } from '../train/event-loop.js';
