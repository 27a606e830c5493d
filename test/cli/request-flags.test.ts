import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecords, runCli, startServer, tempDir } from './helpers.ts';

test('#7: -X, -d @file, -H and -A shape the request the server receives', async (t) => {
  const server = await startServer(t);
  const dir = tempDir(t);
  const payload = join(dir, 'payload.json');
  writeFileSync(payload, '{"isrc":"USRC17607839"}');
  const result = await runCli(
    ['-', '--quiet', '-X', 'post', '-d', `@${payload}`, '-H', 'Content-Type: application/json', '-H', 'X-Trace: 7', '-A', 'catalogue-sync/2'],
    { stdin: `${server.url}/echo\n` },
  );
  assert.equal(result.code, 0, result.stderr);
  const [record] = parseRecords(result.stdout);
  assert.equal(record?.method, 'POST');
  const echoed = record?.body as { method: string; headers: Record<string, string>; body: string };
  assert.equal(echoed.method, 'POST');
  assert.equal(echoed.body, '{"isrc":"USRC17607839"}');
  assert.equal(echoed.headers['content-type'], 'application/json');
  assert.equal(echoed.headers['x-trace'], '7');
  assert.equal(echoed.headers['user-agent'], 'catalogue-sync/2');
});

test('#7: -d with inline text, and a missing @file is a usage error', async (t) => {
  const server = await startServer(t);
  const inline = await runCli(['-', '--quiet', '-X', 'PUT', '-d', 'a=1'], { stdin: `${server.url}/echo\n` });
  assert.equal((parseRecords(inline.stdout)[0]?.body as { body: string } | undefined)?.body, 'a=1');
  const hitsBefore = server.hits.length;
  const missing = await runCli(['-', '-d', '@/nonexistent/payload.json'], { stdin: `${server.url}/echo\n` });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^ratefetch: -d cannot read \/nonexistent\/payload.json: no such file or directory/);
  assert.equal(server.hits.length, hitsBefore, 'nothing is sent after a usage error');
});

test('#7: --body-format, --max-body and --timeout reach every record', async (t) => {
  const server = await startServer(t);
  const base64 = await runCli(['-', '--quiet', '--body-format', 'base64'], { stdin: `${server.url}/text\n` });
  assert.equal(parseRecords(base64.stdout)[0]?.body, Buffer.from('hello').toString('base64'));
  const none = await runCli(['-', '--quiet', '--body-format', 'none'], { stdin: `${server.url}/text\n` });
  const noneRecord = parseRecords(none.stdout)[0];
  assert.equal(noneRecord?.body, null);
  assert.equal(noneRecord?.bytes, 5);
  const capped = await runCli(['-', '--quiet', '--max-body', '1000'], { stdin: `${server.url}/bytes/5000\n` });
  assert.equal(capped.code, 1);
  assert.equal(parseRecords(capped.stdout)[0]?.error?.code, 'BODY_TOO_LARGE');
  const slow = await runCli(['-', '--quiet', '--timeout', '0.3', '--retries', '0'], { stdin: `${server.url}/drip?chunks=10&intervalMs=100\n` });
  const slowRecord = parseRecords(slow.stdout)[0];
  assert.equal(slowRecord?.error?.code, 'TIMEOUT');
  assert.match(slowRecord?.error?.message ?? '', /timed out after 300ms/);
});
