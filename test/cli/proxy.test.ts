import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRecords, runCli } from './helpers.ts';

/** A forward proxy that answers every request itself and remembers the request line. */
async function startProxy(t: { after(fn: () => unknown): void }): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end('{"via":"proxy"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('#7: HTTP_PROXY is honoured: requests go through the proxy in absolute form', async (t) => {
  const proxy = await startProxy(t);
  // Port 9 on 127.0.0.2 has no server: only the proxy can have answered.
  const result = await runCli(['-', '--quiet', '--retries', '0'], {
    stdin: 'http://127.0.0.2:9/items/1\n',
    env: { HTTP_PROXY: proxy.url, NO_PROXY: '' },
  });
  assert.equal(result.code, 0, result.stderr);
  const records = parseRecords(result.stdout);
  assert.equal(records.length, 1);
  assert.deepEqual(records[0]?.body, { via: 'proxy' });
  assert.deepEqual(proxy.seen, ['GET http://127.0.0.2:9/items/1']);
});

test('#7: NO_PROXY exempts a host from the proxy', async (t) => {
  const proxy = await startProxy(t);
  const result = await runCli(['-', '--quiet', '--retries', '0'], {
    stdin: 'http://127.0.0.2:9/items/1\n',
    env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.2' },
  });
  assert.equal(result.code, 1);
  assert.equal(parseRecords(result.stdout)[0]?.error?.code, 'CONNECTION_REFUSED');
  assert.deepEqual(proxy.seen, []);
});
