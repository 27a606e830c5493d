// A real redis-server for the tests that need one: started on a unix socket in a temp dir (never
// port 6379), no persistence, stopped by PID when the test ends. .ci/run installs redis-server;
// outside CI a machine without it skips those tests with one line saying how to enable them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';

const available = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
if (!available && process.env.CI === 'true') {
  throw new Error('redis-server is not installed, and under CI=true the Redis tests must run: .ci/run installs it with apt-get');
}

/** `{ skip }` for a Redis test: false where redis-server is here, else the one line saying why. */
export const NO_REDIS: string | false = available ? false : 'redis-server is not installed: `apt-get install redis-server` to run the Redis tests';

export interface RedisServer {
  /** The unix socket it listens on. */
  socket: string;
  /** redis://127.0.0.1:PORT, when started with `{ tcp: true }`. */
  url?: string;
  /** A new client connection (closed when the test ends). */
  client(): Redis;
  /** Runs `close` when the test ends, before the server stops (t.after hooks run in the order added, so theirs would run after it). */
  closeFirst(close: () => unknown): void;
}

/** `tcp`: listen on a free loopback port as well (never 6379), for the redis:// form. */
export async function startRedisServer(t: TestContext, options: { tcp?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-redis-'));
  const socket = join(dir, 'redis.sock');
  const port = options.tcp ? await freePort() : 0;
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const clients: Redis[] = [];
  const closers: Array<() => unknown> = [];
  t.after(async () => {
    // A closer that fails must not leave the server running.
    for (const close of closers.reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => undefined);
    await Promise.all(clients.map((client) => client.quit().catch(() => undefined)));
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} before it listened`);
    if (Date.now() > deadline) throw new Error('redis-server did not open its socket within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    socket,
    ...(options.tcp && { url: `redis://127.0.0.1:${port}` }),
    client() {
      const client = new Redis({ path: socket, lazyConnect: false, maxRetriesPerRequest: 1 });
      clients.push(client);
      return client;
    },
    closeFirst: (close) => closers.push(close),
  };
}

/** A loopback port nothing listens on now (the OS's pick, so never 6379 unless it is free and chosen). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
