// Shared runs between a text and a set of reference files: every window of
// RUN bytes of the references is hashed (a polynomial rolling hash), and a
// hash hit is confirmed byte by byte, so a reported run is a real copy.
// The LM corpus uses it to keep evaluation text out of training.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const RUN = 256;
const BASE = 0x01000193;

/** BASE^(RUN-1) mod 2^32, to remove the byte leaving the window. */
function topPower(): number {
  let p = 1;
  for (let i = 0; i < RUN - 1; i++) p = Math.imul(p, BASE) >>> 0;
  return p;
}

function hashes(data: Uint8Array, each: (hash: number, start: number) => void): void {
  if (data.length < RUN) return;
  const top = topPower();
  let h = 0;
  for (let i = 0; i < RUN; i++) h = (Math.imul(h, BASE) + data[i] + 1) >>> 0;
  each(h, 0);
  for (let i = RUN; i < data.length; i++) {
    h = (h - Math.imul(data[i - RUN] + 1, top)) >>> 0;
    h = (Math.imul(h, BASE) + data[i] + 1) >>> 0;
    each(h, i - RUN + 1);
  }
}

export class RunIndex {
  private readonly table = new Map<number, Array<[number, number]>>();
  private readonly files: Uint8Array[] = [];
  readonly names: string[] = [];

  add(name: string, data: Uint8Array): void {
    const f = this.files.length;
    this.files.push(data);
    this.names.push(name);
    hashes(data, (h, s) => {
      const list = this.table.get(h);
      if (list) {
        if (list.length < 8) list.push([f, s]);
      } else this.table.set(h, [[f, s]]);
    });
  }

  /** The first shared run of RUN bytes in `data`, or null. */
  firstShared(data: Uint8Array): { offset: number; file: string; fileOffset: number } | null {
    let found: { offset: number; file: string; fileOffset: number } | null = null;
    hashes(data, (h, s) => {
      if (found) return;
      const list = this.table.get(h);
      if (!list) return;
      for (const [f, o] of list) {
        const ref = this.files[f];
        let same = true;
        for (let i = 0; i < RUN; i++) {
          if (ref[o + i] !== data[s + i]) {
            same = false;
            break;
          }
        }
        if (same) {
          found = { offset: s, file: this.names[f], fileOffset: o };
          return;
        }
      }
    });
    return found;
  }

  static fromDir(dir: string): RunIndex {
    const idx = new RunIndex();
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isFile()) idx.add(f, new Uint8Array(readFileSync(p)));
    }
    return idx;
  }
}
