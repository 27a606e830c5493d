import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { createSpareConnections } from '../../src/http/spare-connections.ts';
import { readAhead } from '../../src/run/read-ahead.ts';
import { connectionsToWarm } from '../../src/run/warm-up.ts';
import type { PlanResult } from '../../src/plan/planner.ts';

test('#24: connections to warm: the burst and 50 ms of starts, at most the concurrency; none without a fixed rate', () => {
  const base = { autoRate: false, hostConcurrency: Infinity };
  assert.equal(connectionsToWarm({ ...base, rps: 1000, burst: 20, concurrency: 32 }), 32);
  assert.equal(connectionsToWarm({ ...base, rps: 100, burst: 2, concurrency: 32 }), 7);
  assert.equal(connectionsToWarm({ ...base, rps: 5, burst: 1, concurrency: 8 }), 2);
  assert.equal(connectionsToWarm({ ...base, rps: 1000, burst: 20, concurrency: 64, hostConcurrency: 4 }), 4);
  assert.equal(connectionsToWarm({ ...base, rps: Infinity, burst: 1, concurrency: 8 }), 0);
  assert.equal(connectionsToWarm({ ...base, autoRate: true, rps: 100, burst: 2, concurrency: 8 }), 0);
});

async function startCountingServer(t: { after(fn: () => unknown): void }) {
  const sockets: Socket[] = [];
  const server = http.createServer((_req, res) => res.end('{}'));
  server.on('connection', (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), sockets };
}

/** Waits for the server's side of what the client already saw; fails after 5 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('#24: warmed connections are the ones undici sends on: no connect waits for the first requests', async (t) => {
  const server = await startCountingServer(t);
  const spares = createSpareConnections(buildConnector({}));
  const agent = new Agent({ connections: 4, connect: spares.connect });
  t.after(() => agent.close());
  await spares.warm(server.url, 4, 1_000);
  await until(() => server.sockets.length === 4); // the server accepts on its own turn of the loop
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => agent.request({ origin: server.url.origin, path: '/x', method: 'GET' }).then((r) => r.body.text())),
  );
  assert.deepEqual(answers, ['{}', '{}', '{}', '{}']);
  assert.equal(server.sockets.length, 4, 'the requests used the warmed connections, none new');
  spares.close();
});

test('#24: a warmed connection the server closed is not handed to undici; a fresh one is made', async (t) => {
  const server = await startCountingServer(t);
  const spares = createSpareConnections(buildConnector({}));
  const agent = new Agent({ connections: 1, connect: spares.connect });
  t.after(() => agent.close());
  await spares.warm(server.url, 1, 1_000);
  await until(() => server.sockets.length === 1);
  assert.equal(spares.idle(), 1);
  server.sockets[0]!.destroy();
  await until(() => spares.idle() === 0); // our end has seen the close
  const response = await agent.request({ origin: server.url.origin, path: '/x', method: 'GET' });
  assert.equal(await response.body.text(), '{}');
  assert.equal(server.sockets.length, 2);
  spares.close();
});

test('#24: warming a port nobody listens on fails quietly: the requests meet the failure themselves', async (t) => {
  const spares = createSpareConnections(buildConnector({}));
  const agent = new Agent({ connections: 1, connect: spares.connect });
  t.after(() => agent.close());
  await spares.warm(new URL('http://127.0.0.1:9'), 2, 5_000); // resolves, does not throw
  assert.equal(spares.idle(), 0);
  await assert.rejects(agent.request({ origin: 'http://127.0.0.1:9', path: '/', method: 'GET' }), { code: 'ECONNREFUSED' });
  spares.close();
});

test('#24: filling the read-ahead gives the event loop a turn every few dozen inputs', async () => {
  const plans = (async function* () {
    for (let line = 1; line <= 1_000; line++) yield { kind: 'invalid', line } as unknown as PlanResult;
  })();
  let readWhenTheLoopTurned: number | undefined;
  let read = 0;
  setImmediate(() => (readWhenTheLoopTurned = read));
  await readAhead(plans, {
    signal: new AbortController().signal,
    hasRoom: () => true,
    changed: () => Promise.resolve(),
    onInput: () => read++,
    onEnd: () => undefined,
  });
  assert.equal(read, 1_000);
  assert.ok(readWhenTheLoopTurned !== undefined && readWhenTheLoopTurned < 100, `the loop turned after ${readWhenTheLoopTurned} inputs`);
});
