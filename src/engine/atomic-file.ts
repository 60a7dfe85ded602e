// Files appear whole or not at all. Each write goes to a temporary file in the
// same directory (so the final rename stays on one filesystem), is flushed to
// disk, and is then renamed over the target. A crash or an error leaves the
// old file (or none) and no temporary file behind.

import * as fs from 'node:fs';
import { open, rename, link, unlink, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import type { Writable } from 'node:stream';
import { once } from 'node:events';

/** `<dir>/<name>.tmp-<pid>-<random>`: unique per process and per call. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Flush a directory entry (the rename) to disk where the platform allows it. */
function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported everywhere (Windows); the file's own fsync is what matters most
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes `data` to `path` atomically, replacing any existing file: temp file,
 * fsync, rename. On error the temp file is removed and the error rethrown.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // keep the first error
      }
    }
    removeQuietly(tmp);
    throw e;
  }
  syncDirSync(dirname(path));
}

export interface AtomicWrite {
  /** Where the file will appear on commit. */
  readonly path: string;
  /** The temporary file being written. */
  readonly tempPath: string;
  /** Write the output here; do not end it yourself (commit does). */
  readonly stream: Writable;
  /** Ends the stream, fsyncs, and moves the file into place. */
  commit(): Promise<void>;
  /** Discards everything written; leaves neither the file nor the temp file. Safe to call twice, and after a failed commit. */
  abort(): Promise<void>;
}

export interface AtomicWriteOptions {
  /** Replace an existing file at `path`. Without it, an existing file is an error. */
  force?: boolean;
}

/** The error for an output file that is already there. */
export class FileExistsError extends Error {
  readonly code = 'EEXIST';
  constructor(readonly path: string) {
    super(`${path} exists; use --force to overwrite`);
    this.name = 'FileExistsError';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Opens a streamed atomic write to `path` (for outputs too large to hold in
 * memory, like the compressor's). Refuses an existing file unless `force`,
 * both now and at commit, where a file that appeared meanwhile is not replaced.
 */
export async function openAtomicWrite(path: string, opts: AtomicWriteOptions = {}): Promise<AtomicWrite> {
  const force = opts.force ?? false;
  if (!force && (await exists(path))) throw new FileExistsError(path);
  const tempPath = tempPathFor(path);
  // Create the temp file first, so a bad directory fails here rather than on the stream.
  await (await open(tempPath, 'wx', 0o644)).close();
  const stream = fs.createWriteStream(tempPath, { flags: 'r+' });
  let state: 'open' | 'committed' | 'aborted' = 'open';
  // An error on the stream is reported by commit(); keep it from crashing the process meanwhile.
  let streamError: Error | undefined;
  stream.on('error', (e) => {
    streamError ??= e;
  });

  const abort = async (): Promise<void> => {
    if (state === 'committed') return;
    state = 'aborted';
    if (!stream.closed) {
      const closed = once(stream, 'close').catch(() => undefined);
      stream.destroy();
      await closed;
    }
    try {
      await unlink(tempPath);
    } catch {
      // already gone
    }
  };

  const commit = async (): Promise<void> => {
    if (state !== 'open') throw new Error(`atomic write to ${path} was already ${state}`);
    try {
      if (streamError) throw streamError;
      if (!stream.closed) {
        const closed = once(stream, 'close');
        stream.end();
        await closed;
      }
      if (streamError) throw streamError;
      // fsync through a fresh descriptor: it flushes the file, whoever wrote it.
      const h = await open(tempPath, 'r+');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
      if (force) {
        await rename(tempPath, path);
      } else {
        // link() fails if the target exists, so a file that appeared since open is never replaced.
        try {
          await link(tempPath, path);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') throw new FileExistsError(path);
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw e;
          // A filesystem without hard links: check, then rename.
          if (await exists(path)) throw new FileExistsError(path);
          await rename(tempPath, path);
        }
        try {
          await unlink(tempPath);
        } catch {
          // renamed rather than linked
        }
      }
      state = 'committed';
    } catch (e) {
      await abort();
      throw e;
    }
    syncDirSync(dirname(path));
  };

  return { path, tempPath, stream, commit, abort };
}
