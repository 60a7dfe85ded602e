// A redis-server of a test's own: on a free loopback port, in a temp dir, with
// its append-only file on so a restart keeps the queue. Started and stopped
// by the test; never anything but 127.0.0.1.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

export function redisServerAvailable(): boolean {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export class TestRedis {
  private proc: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'gb-redis-'));

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.up();
    return r;
  }

  /** Start (or restart) the server and wait until it answers, at most 10 s. */
  async up(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const deadline = Date.now() + 10_000;
    let log = '';
    this.proc.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const onData = (d: string) => {
        log += d;
        if (/Ready to accept connections/.test(log)) {
          this.proc!.stdout!.off('data', onData);
          this.proc!.stdout!.resume();
          resolve();
        }
      };
      this.proc!.stdout!.on('data', onData);
      this.proc!.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${log.slice(-500)}`)));
      const t = setInterval(() => {
        if (Date.now() > deadline) {
          clearInterval(t);
          reject(new Error(`redis-server did not start in 10 s: ${log.slice(-500)}`));
        }
      }, 200);
      t.unref();
    });
  }

  /** Stop it as a restart would (SIGTERM: it flushes its append-only file), at most 10 s. */
  async down(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    this.proc = null;
    const exited = once(p, 'exit');
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}
