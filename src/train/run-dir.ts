// A run is a directory: runs/<experiment>-<time>/ with config.json,
// metrics.jsonl, checkpoints/, result.json and report.html.

import { mkdirSync, appendFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../engine/atomic-file.js';

export class RunDir {
  readonly path: string;
  readonly checkpoints: string;

  constructor(path: string) {
    this.path = resolve(path);
    this.checkpoints = join(this.path, 'checkpoints');
    mkdirSync(this.checkpoints, { recursive: true });
  }

  /** A fresh directory under `root` named after the experiment and the time (UTC), never reusing one. */
  static create(root: string, experiment: string, now = new Date()): RunDir {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    let dir = join(root, `${experiment}-${stamp}`);
    for (let i = 2; existsSync(dir); i++) dir = join(root, `${experiment}-${stamp}-${i}`);
    return new RunDir(dir);
  }

  file(name: string): string {
    return join(this.path, name);
  }

  writeJson(name: string, value: unknown): string {
    const p = this.file(name);
    writeFileAtomic(p, JSON.stringify(value, null, 2) + '\n');
    return p;
  }

  /** One JSON object per line; appended as training goes so a crashed run keeps its history. */
  appendMetric(record: Record<string, unknown>): void {
    appendFileSync(this.file('metrics.jsonl'), JSON.stringify(record) + '\n');
  }
}
