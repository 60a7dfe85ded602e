// The classical compressors' bits per byte on a file, for the lines the LM's
// validation curve is drawn against. Each runs at its strongest setting; one
// that is not installed reports null.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Baseline {
  name: string;
  command: string;
  bpb: number | null;
}

const COMPRESSORS: Array<{ name: string; bin: string; args: string[] }> = [
  { name: 'xz -9e', bin: 'xz', args: ['-9e', '-c', '-T1'] },
  { name: 'zstd -19', bin: 'zstd', args: ['-19', '-c', '-q', '-T1'] },
  { name: 'brotli -11', bin: 'brotli', args: ['-q', '11', '-c'] },
];

export function classicalBitsPerByte(path: string): Baseline[] {
  const input = readFileSync(path);
  return COMPRESSORS.map((c) => {
    const command = `${c.bin} ${c.args.join(' ')}`;
    try {
      const out = execFileSync(c.bin, c.args, { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
      return { name: c.name, command, bpb: (out.length * 8) / input.length };
    } catch {
      return { name: c.name, command, bpb: null };
    }
  });
}
