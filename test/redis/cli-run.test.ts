// The CLI's run shared through Redis (issue #25), as users run it: a coordinator process, worker
// processes (`ratefetch worker`), `status` and `clean`, a real redis-server and a real HTTP
// server on loopback. Wiring only: the rate itself is measured in shared-run.test.ts and the bench.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { closedPort, maxStartsInWindow } from '../helpers.ts';
import { assertOneRecordPerLine, assertUsageError, parseRecords, range, runCli, spawnCli, startServer, tempDir, waitFor, writeLines } from '../cli/helpers.ts';
import { NO_REDIS, startRedisServer } from './redis-server.ts';

const opts = { skip: NO_REDIS, timeout: 90_000 };

/** Every value in Redis as text: strings, hashes, lists, sets and sorted sets. */
async function everythingIn(client: Redis): Promise<string> {
  const parts: string[] = [];
  for (const key of await client.keys('*')) {
    const type = await client.type(key);
    if (type === 'string') parts.push(String(await client.get(key)));
    else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)));
    else if (type === 'list') parts.push(...(await client.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(...(await client.smembers(key)));
    else if (type === 'zset') parts.push(...(await client.zrange(key, 0, -1)));
    parts.push(key);
  }
  return parts.join('\n');
}

const runIsThere = async (client: Redis, name: string) => (await client.exists(`ratefetch:{${name}}:settings`)) === 1;

test('#25: a coordinator and a worker process fetch one list together: a record per input, one rate, and the run leaves Redis', opts, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(120).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  // Started first, as hosts come up in any order: it waits for the run.
  const worker = spawnCli(['worker', '--redis', redis.socket, '--name', 'both', '-c', '4', '--wait', '30']);
  await waitFor(() => worker.stderrSoFar().includes('waiting up to'), 'the worker to wait for the run');
  const coordinator = await runCli([input, '--redis', redis.socket, '--name', 'both', '--rps', '40', '-c', '4', '-o', out]);
  assert.equal(coordinator.code, 0, coordinator.stderr);
  const records = parseRecords(readFileSync(out, 'utf8'));
  assertOneRecordPerLine(records, range(120));
  assert.ok(records.every((record) => record.ok));
  assert.match(coordinator.stderr, /records\s+120/);
  assert.match(coordinator.stderr, /\(120 attempts\)/, "the summary counts the worker process's requests too");
  const workerResult = await worker.result;
  assert.equal(workerResult.code, 0, workerResult.stderr);
  const handedBack = Number(/(\d+) records handed back; the run is over/.exec(workerResult.stderr)?.[1]);
  assert.ok(handedBack > 0 && handedBack < 120, `the worker fetched ${handedBack} of 120; the coordinator the rest`);
  assert.equal(server.hits.length, 120, 'nothing fetched twice');
  // 40/s shared, as the server saw it (the exact bound is tested in virtual time and on Redis's clock).
  const most = maxStartsInWindow(
    server.hits.map((hit) => hit.t),
    1_000,
  );
  assert.ok(most <= 48, `${most} arrivals in one second for a shared 40/s`);
  // A run that ended whole is gone: the same command may run again (tomorrow's cron).
  assert.equal(await runIsThere(redis.client(), 'both'), false);
  const status = await runCli(['status', '--redis', redis.socket, '--name', 'both']);
  assert.equal(status.code, 1);
  assert.match(status.stderr, /no run named both/);
});

test('#25: secret headers never reach Redis: each worker gives them, and one without them is refused', opts, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(20).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const token = 'Bearer s3cret-token-123';
  const coordinator = spawnCli([input, '--redis', redis.socket, '--name', 'sec', '--local-workers', '0', '-H', `Authorization: ${token}`, '-o', out]);
  const client = redis.client();
  await waitFor(() => existsSync(out), 'the coordinator to open its output');
  for (let i = 0; i < 100 && !(await runIsThere(client, 'sec')); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(await runIsThere(client, 'sec'), 'the run is in Redis');

  const without = await runCli(['worker', '--redis', redis.socket, '--name', 'sec', '--wait', '0']);
  assertUsageError(without, /Authorization/);
  assert.ok(!(await everythingIn(client)).includes('s3cret'), 'no secret anywhere in Redis');

  const headers = join(dir, 'headers.txt');
  writeFileSync(headers, `Authorization: ${token}\n`);
  const worker = await runCli(['worker', '--redis', redis.socket, '--name', 'sec', '-H', `@${headers}`]);
  assert.equal(worker.code, 0, worker.stderr);
  const done = await coordinator.result;
  assert.equal(done.code, 0, done.stderr);
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8')), range(20));
  assert.ok(
    server.hits.every((hit) => hit.headers.authorization === token),
    "every request carried the worker's token",
  );
  assert.ok(!`${done.stderr}${worker.stderr}${readFileSync(out, 'utf8')}`.includes('s3cret'));
});

test('#25: Ctrl-C stops the run with a record per input read; the same name is refused without --resume, which finishes it', opts, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(40).map((i) => `${server.url}/delay/150?i=${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const args = [input, '--redis', redis.socket, '--name', 'again', '-c', '2', '-o', out];
  const first = spawnCli(args);
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 4, 'a few records');
  first.child.kill('SIGINT');
  const stopped = await first.result;
  assert.equal(stopped.code, 130, stopped.stderr);
  const before = readFileSync(out, 'utf8');
  const records = parseRecords(before);
  assertOneRecordPerLine(records, range(40));
  assert.ok(records.some((record) => record.error?.code === 'INTERRUPTED'));

  const refused = await runCli(args);
  assertUsageError(refused, /already in Redis.*--resume.*clean/);
  assert.equal(readFileSync(out, 'utf8'), before, 'a refused run leaves the output as it was');

  const resumed = await runCli([...args, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const all = parseRecords(readFileSync(out, 'utf8'));
  assert.equal(
    all
      .slice(0, records.length)
      .map((r) => JSON.stringify(r))
      .join('\n'),
    records.map((r) => JSON.stringify(r)).join('\n'),
    'nothing rewritten',
  );
  const final = all.filter((record) => record.final);
  assertOneRecordPerLine(final, range(40));
  assert.ok(final.every((record) => record.ok));
});

test('#25: a worker killed mid-run loses nothing: its inputs come back after --stalled-after, one record each', opts, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(40).map((i) => `${server.url}/delay/100?i=${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const coordinator = spawnCli([input, '--redis', redis.socket, '--name', 'kill', '--local-workers', '0', '--stalled-after', '1', '-o', out], {
    timeoutMs: 60_000,
  });
  const doomed = spawnCli(['worker', '--redis', redis.socket, '--name', 'kill', '-c', '3']);
  const survivor = spawnCli(['worker', '--redis', redis.socket, '--name', 'kill', '-c', '2']);
  await waitFor(() => server.hits.length >= 10, 'both workers under way');
  doomed.child.kill('SIGKILL');
  const done = await coordinator.result;
  assert.equal(done.code, 0, done.stderr);
  const records = parseRecords(readFileSync(out, 'utf8'));
  assertOneRecordPerLine(records, range(40));
  assert.ok(records.every((record) => record.ok));
  // Only the killed worker's inputs in flight may go twice (3 at most).
  assert.ok(server.hits.length <= 43, `${server.hits.length} requests for 40 inputs`);
  assert.equal((await survivor.result).code, 0);
});

test('#25: what cannot be shared is said in one sentence, before anything is sent', opts, async (t) => {
  const redis = await startRedisServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', ['http://127.0.0.1:9/a']);
  assertUsageError(await runCli([input, '--name', 'x']), /--name goes with --redis/);
  assertUsageError(await runCli([input, '--redis', redis.socket]), /--redis needs --name/);
  assertUsageError(await runCli([input, '--redis', redis.socket, '--name', 'a:b']), /not a run name/);
  assertUsageError(await runCli([input, '--redis', redis.socket, '--name', 'x', '--dedupe']), /--dedupe is not supported with --redis/);
  assertUsageError(await runCli([input, '--redis', redis.socket, '--name', 'x', '--paginate']), /--paginate is not supported with --redis yet/);
  assertUsageError(await runCli([input, '--redis', redis.socket, '--name', 'x', '--cursor', 'c=.c']), /--cursor is not supported with --redis yet/);
  assertUsageError(await runCli([input, '--redis', redis.socket, '--name', 'x', '-t', 'https://api.example.com/{}?api_key=abc']), /--template holds a secret/);
  assertUsageError(await runCli([input, '--redis', join(dir, 'no-such.sock'), '--name', 'x']), /cannot reach Redis/);
  const refused = await runCli([input, '--redis', `redis://:hunter2@127.0.0.1:${await closedPort()}`, '--name', 'x']);
  assertUsageError(refused, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ /);
  assert.ok(!refused.stderr.includes('hunter2'), 'the password in the URL is not shown');
  assertUsageError(await runCli(['worker', '--name', 'x']), /--redis/);
  assert.equal(await redis.client().dbsize(), 0, 'nothing was stored');
});

test('#25: an input holding a password or token gets an error record with its line, and never goes to Redis', opts, async (t) => {
  const redis = await startRedisServer(t);
  const server = await startServer(t);
  const dir = tempDir(t);
  const host = new URL(server.url).host;
  const input = writeLines(dir, 'urls.txt', [
    `${server.url}/items/1`,
    `http://user:pa55word@${host}/items/2`,
    `${server.url}/items/3?token=t0ken`,
    'not a url',
  ]);
  const result = await runCli([input, '--redis', redis.socket, '--name', 'lines']);
  assert.equal(result.code, 1, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, [1, 2, 3, 4]);
  const byLine = new Map(records.map((record) => [record.line, record]));
  assert.equal(byLine.get(1)?.ok, true);
  for (const line of [2, 3]) {
    assert.equal(byLine.get(line)?.error?.code, 'INVALID_INPUT');
    assert.match(String(byLine.get(line)?.error?.message), /secret/);
  }
  assert.equal(byLine.get(4)?.error?.code, 'INVALID_URL');
  assert.ok(!result.stdout.includes('pa55word') && !result.stdout.includes('t0ken'));
  assert.equal(server.hits.length, 1);
});

test('#25: --redis takes a redis:// URL as well as a socket; status reports a stopped run and clean removes it', opts, async (t) => {
  const redis = await startRedisServer(t, { tcp: true });
  const server = await startServer(t);
  const dir = tempDir(t);
  const url = redis.url!;
  const input = writeLines(
    dir,
    'urls.txt',
    range(30).map((i) => `${server.url}/delay/200?i=${i}`),
  );
  const out = join(dir, 'out.ndjson');
  const run = spawnCli([input, '--redis', url, '--name', 'tcp', '-c', '1', '--rps', '7', '-o', out]);
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').length > 0, 'a first record');
  const status = await runCli(['status', '--redis', url, '--name', 'tcp', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const seen = JSON.parse(status.stdout) as { name: string; workers: number; rates: Array<{ rps: number }> };
  assert.equal(seen.name, 'tcp');
  assert.ok(seen.workers >= 1);
  assert.ok(
    seen.rates.some((rate) => rate.rps > 6 && rate.rps <= 7),
    JSON.stringify(seen.rates),
  );
  run.child.kill('SIGTERM');
  assert.equal((await run.result).code, 143);
  const stopped = await runCli(['status', '--redis', url, '--name', 'tcp']);
  assert.match(stopped.stdout, /stopped early \(continue it with --resume\)/);
  const clean = await runCli(['clean', '--redis', url, '--name', 'tcp']);
  assert.equal(clean.code, 0);
  assert.match(clean.stderr, /removed run tcp/);
  assert.equal(
    await redis
      .client()
      .keys('*tcp*')
      .then((keys) => keys.length),
    0,
    'nothing of the run is left',
  );
  assert.equal((await runCli(['status', '--redis', url, '--name', 'tcp'])).code, 1);
});
