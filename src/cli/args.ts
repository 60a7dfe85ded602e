// Parsers for flag values: each rejects bad input with a message that says what was expected.

import { InvalidArgumentError, Option } from 'commander';
import { setThreads } from '../engine/matmul-kernel.js';

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`expected an integer, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}], got ${n}`);
    return n;
  };
}

export function floatArg(min: number, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${v}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got ${n}`);
    return n;
  };
}


/** The one --threads flag: every command that computes takes it, and only the surface sets the count. */
export function threadsOption(): Option {
  return new Option('--threads <n>', 'matmul threads (results are identical for any count)').argParser(intArg(1, 64));
}

export function applyThreads(n: number | undefined): void {
  if (n !== undefined) setThreads(n);
}
