/**
 * A redis-server for one benchmark run: on a unix socket in a directory of its own (never a TCP
 * port), no persistence, started through proc.ts so that `killAll()` stops it with the rest.
 * `usedMemory()` reads `used_memory` from INFO memory, which the scale-out section samples.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startCapped, type Running } from './proc.js';

export interface BenchRedis {
  socket: string;
  /** INFO memory: `used_memory` and `used_memory_rss`, in bytes. */
  memory(): Promise<{ used: number; rss: number }>;
  /** The first `redis-server --version` line, for the report. */
  version: string;
  stop(): Promise<void>;
}

const LIFE_CAP_MS = 60 * 60_000;

export async function startBenchRedis(dir: string): Promise<BenchRedis> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'redis.sock');
  const server: Running = startCapped({
    cmd: 'redis-server',
    args: ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir],
    capMs: LIFE_CAP_MS,
    stopSignal: 'SIGKILL',
  });
  let exited = false;
  void server.result.then(() => {
    exited = true;
  });
  const deadline = performance.now() + 10_000;
  while (!existsSync(socket)) {
    if (exited) throw new Error(`redis-server exited before it listened: ${(await server.result).stdout.trim().split('\n').pop() ?? ''}`);
    if (performance.now() > deadline) {
      server.signal('SIGKILL');
      throw new Error('redis-server did not open its socket within 10 s');
    }
    await sleep(20);
  }
  const client = new Redis({ path: socket, maxRetriesPerRequest: 1, lazyConnect: false });
  const info = (await client.info('server')).match(/^redis_version:(.+)$/m)?.[1]?.trim() ?? 'unknown';
  return {
    socket,
    version: info,
    async memory() {
      const text = await client.info('memory');
      const read = (field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
      return { used: read('used_memory'), rss: read('used_memory_rss') };
    },
    async stop() {
      await client.quit().catch(() => undefined);
      server.signal('SIGKILL');
      await server.result;
    },
  };
}
