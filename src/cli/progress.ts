// A progress bar for long work, on stderr so --json output on stdout stays clean.
// In a non-TTY (CI, pipes) it prints a plain line now and then instead.

import cliProgress from 'cli-progress';

export interface ProgressBar {
  update(value: number, payload: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(total: number, format: string, opts: { quiet?: boolean } = {}): ProgressBar {
  if (opts.quiet) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update(value, payload) {
        const now = Date.now();
        if (now - last < 5000 && value < total) return;
        last = now;
        const text = format.replace('{bar}', '').replace(/\{(\w+)\}/g, (_, k: string) => String(k === 'value' ? value : k === 'total' ? total : (payload[k] ?? '')));
        process.stderr.write(text.trim() + '\n');
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: false, barsize: 24 }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, {});
  return {
    update(value, payload) {
      bar.update(value, payload);
    },
    stop() {
      bar.stop();
    },
  };
}

export { formatSeconds } from '../experiments/experiment.js';
