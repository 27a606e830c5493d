import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { hasOpenssl, makeSelfSignedCertificate, startHttpsServer, type HttpsServer } from '../../fixtures/https-server.ts';
import { assertOneRecordPerLine, assertUsageError, parseRecords, range, runCli, startServer, tempDir, writeLines } from './helpers.ts';

// .ci/run installs openssl; on a machine without it these tests say so and skip.
const skip = !hasOpenssl() && process.env.CI !== 'true' ? 'openssl is not installed: cannot make a self-signed certificate' : false;
const certificate = skip === false ? makeSelfSignedCertificate() : undefined;

async function setUp(t: TestContext, n: number): Promise<{ server: HttpsServer; dir: string; urls: string; cacert: string }> {
  const server = await startHttpsServer(certificate!);
  t.after(() => server.close());
  const dir = tempDir(t);
  const cacert = join(dir, 'ca.pem');
  writeFileSync(cacert, certificate!.cert);
  const urls = writeLines(
    dir,
    'urls.txt',
    range(n).map((i) => `${server.url}/items/${i}`),
  );
  return { server, dir, urls, cacert };
}

test('#24: --http2 --cacert fetches over HTTP/2 from a server with a self-signed certificate', { skip }, async (t) => {
  const { server, urls, cacert } = await setUp(t, 40);
  const result = await runCli([urls, '--http2', '--cacert', cacert, '-c', '4', '--quiet']);
  assert.equal(result.code, 0, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(40));
  assert.ok(records.every((r) => r.ok && (r.body as { http: string }).http === '2.0'));
  assert.deepEqual(server.requestsByVersion, { '2.0': 40 });
  assert.ok(server.connections() <= 4, `${server.connections()} connections for -c 4`);
});

test('#24: without --http2 the same server is spoken to in HTTP/1.1', { skip }, async (t) => {
  const { server, urls, cacert } = await setUp(t, 10);
  const result = await runCli([urls, '--cacert', cacert, '-c', '2', '--quiet']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(parseRecords(result.stdout).length, 10);
  assert.deepEqual(server.requestsByVersion, { '1.1': 10 });
});

test('#24: a self-signed certificate that is not trusted is a TLS_ERROR record per input, not a crash', { skip }, async (t) => {
  const { server, urls } = await setUp(t, 5);
  const result = await runCli([urls, '--http2', '--retries', '0', '--quiet']);
  assert.equal(result.code, 1, result.stderr);
  const records = parseRecords(result.stdout);
  assertOneRecordPerLine(records, range(5));
  for (const record of records) assert.equal(record.error?.code, 'TLS_ERROR');
  assert.deepEqual(server.requestsByVersion, {});
});

test('#24: NODE_EXTRA_CA_CERTS is trusted, and still is beside --cacert', { skip }, async (t) => {
  const { urls, cacert, dir } = await setUp(t, 3);
  const alone = await runCli([urls, '--http2', '--quiet'], { env: { NODE_EXTRA_CA_CERTS: cacert } });
  assert.equal(alone.code, 0, alone.stderr);
  // --cacert naming another CA adds to the trust store; it does not replace NODE_EXTRA_CA_CERTS.
  const other = join(dir, 'other.pem');
  writeFileSync(other, makeSelfSignedCertificate().cert);
  const both = await runCli([urls, '--http2', '--cacert', other, '--quiet'], { env: { NODE_EXTRA_CA_CERTS: cacert } });
  assert.equal(both.code, 0, both.stderr);
  assert.ok(parseRecords(both.stdout).every((r) => r.ok));
});

test('#24: --http2 leaves http:// origins on HTTP/1.1', async (t) => {
  const server = await startServer(t);
  const result = await runCli(['-', '--http2', '--quiet'], { stdin: `${server.url}/items/1\n${server.url}/items/2\n` });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(parseRecords(result.stdout).every((r) => r.ok));
});

test('#24: --cacert with a missing file or a file with no certificate is a usage error', async (t) => {
  const dir = tempDir(t);
  assertUsageError(await runCli(['-', '--cacert', join(dir, 'nope.pem')], { stdin: 'http://127.0.0.1:9/\n' }), /--cacert cannot read .*nope\.pem/);
  const notPem = writeLines(dir, 'not.pem', ['hello']);
  assertUsageError(await runCli(['-', '--cacert', notPem], { stdin: 'http://127.0.0.1:9/\n' }), /--cacert .*no PEM certificate/);
});

/** A forward proxy that opens CONNECT tunnels, as a corporate proxy does for https; counts them. */
async function startConnectProxy(t: TestContext): Promise<{ url: string; tunnels: () => number }> {
  let tunnels = 0;
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client: net.Socket, head: Buffer) => {
    tunnels += 1;
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    proxy.closeAllConnections();
    return new Promise((resolve) => proxy.close(resolve));
  });
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, tunnels: () => tunnels };
}

test('#24: https through HTTPS_PROXY goes by a CONNECT tunnel, with --cacert and with --http2', { skip }, async (t) => {
  const { server, urls, cacert } = await setUp(t, 6);
  const proxy = await startConnectProxy(t);
  const env = { HTTPS_PROXY: proxy.url, NO_PROXY: '' };
  const plain = await runCli([urls, '--cacert', cacert, '--quiet'], { env });
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(parseRecords(plain.stdout).every((r) => r.ok));
  const h2 = await runCli([urls, '--cacert', cacert, '--http2', '--quiet'], { env });
  assert.equal(h2.code, 0, h2.stderr);
  assert.ok(parseRecords(h2.stdout).every((r) => r.ok));
  assert.ok(proxy.tunnels() >= 2, `${proxy.tunnels()} tunnels`);
  assert.equal((server.requestsByVersion['1.1'] ?? 0) + (server.requestsByVersion['2.0'] ?? 0), 12);
});
