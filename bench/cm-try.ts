// Quick measurement of a CM configuration on corpus files (development aid).
import { readFileSync } from 'node:fs';
import { compressCm } from '../src/codec/cm/cm-codec.js';
import { decompressContainer } from '../src/codec/compressor.js';
import { cmLevelConfig } from '../src/codec/cm/levels.js';
import type { CmConfig } from '../src/codec/cm/cm-config.js';

const [levelArg, override, ...files] = process.argv.slice(2);
const cfg: CmConfig = { ...cmLevelConfig(Number(levelArg)), ...(override ? JSON.parse(override) : {}) };
for (const f of files) {
  const data = readFileSync(f);
  const parts: Uint8Array[] = [];
  const st = await compressCm([data], async (b: Uint8Array) => { parts.push(b.slice()); }, { config: cfg });
  const out = Buffer.concat(parts);
  let line = `${f.split('/').pop()} ${(8 * out.length / data.length).toFixed(4)} bpb ${(data.length / 1024 / st.seconds).toFixed(0)} KiB/s mem ${(st.modelBytes / 2 ** 20).toFixed(0)} MiB`;
  if (process.env.VERIFY) {
    const back: Uint8Array[] = [];
    const t = performance.now();
    await decompressContainer([out], async (b: Uint8Array) => { back.push(b.slice()); }, {});
    const ok = Buffer.compare(Buffer.concat(back), data) === 0;
    line += ` decode ${(data.length / 1024 / ((performance.now() - t) / 1000)).toFixed(0)} KiB/s ${ok ? 'ok' : 'MISMATCH'}`;
  }
  console.log(line);
}
