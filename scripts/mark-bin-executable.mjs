// tsc writes dist/src/cli/main.js without the executable bit, and `npx glassbox`
// in a fresh clone runs the bin file directly ("Permission denied" without it).
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
for (const file of Object.values(pkg.bin ?? {})) chmodSync(file, 0o755);
