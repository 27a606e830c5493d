/**
 * Issue #24: what the fetcher itself costs when the API allows everything. N URLs, no rate cap,
 * against a server in a process of its own that answers JSON at once (the fixture server in its
 * fast mode, and a bare node:http server to show the server is not the limit), fetched by
 * ratefetch, by a bare undici loop (bench/clients/undici-baseline.mjs, the ceiling for a Node
 * client) and by curl --parallel, one client at a time, the clients in turn within each repeat.
 * Each client runs under GNU time: wall, user + sys CPU and peak RSS of its whole life, start-up
 * included. Then start-up alone: spawn to the one request reaching a local server, ratefetch
 * and bare Node in turn.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeSelfSignedCertificate } from '../../fixtures/https-server.js';
import { firstStderrLine, runCapped, startService } from '../lib/proc.js';

export interface ThroughputConfig {
  repoDir: string;
  workDir: string;
  urlCount: number;
  concurrency: number;
  repeat: number;
  startupRuns: number;
  log: (line: string) => void;
}

export interface ThroughputRun {
  wallMs: number;
  cpuMs: number;
  peakKiB: number;
  records: number;
  ok: number;
  /** Connections the client opened, as the bare server counted them (undefined for the fixture server). */
  connections: number | undefined;
  stderrLine: string;
}

export interface ThroughputRow {
  server: string;
  client: string;
  runs: ThroughputRun[];
}

export interface StartupRow {
  client: string;
  /** Spawn to the request reaching the server, each run. */
  arrivalMs: number[];
}

interface Server {
  name: string;
  args: (certificate: { certFile: string; keyFile: string }) => string[];
  countsConnections: boolean;
  /** The https server gets its own clients: --http2 beside HTTP/1.1 over TLS. */
  tls: boolean;
}

const SERVERS: Server[] = [
  { name: 'fixture server (fast mode)', args: () => ['--import', 'tsx', 'bench/clients/fixture-server.ts'], countsConnections: false, tls: false },
  { name: 'bare node:http server', args: () => ['bench/clients/bare-server.mjs'], countsConnections: true, tls: false },
  {
    name: 'node:http2 https server (self-signed)',
    args: ({ certFile, keyFile }) => ['--import', 'tsx', 'bench/clients/https-server.ts', certFile, keyFile],
    countsConnections: false,
    tls: true,
  },
];

interface Files {
  urlsFile: string;
  curlConfig: string;
  outFile: string;
  /** The https server's certificate, its own CA. */
  certFile: string;
}

interface Client {
  name: string;
  /** The command that fetches every URL of `urlsFile`, writing its lines to `outFile`. */
  command: (files: Files) => string[];
  /** Whether one output line was an ok answer. */
  isOk: (line: string) => boolean;
}

function tlsClients(repoDir: string, concurrency: number): Client[] {
  const ratefetch =
    (extra: string[]) =>
    ({ urlsFile, outFile, certFile }: Files) => [
      process.execPath,
      join(repoDir, 'bin/ratefetch.js'),
      urlsFile,
      '-c',
      String(concurrency),
      '-q',
      '--cacert',
      certFile,
      ...extra,
      '-o',
      outFile,
    ];
  return [
    { name: `ratefetch -c ${concurrency} -q, HTTP/1.1 over TLS`, command: ratefetch([]), isOk: (line) => line.includes('"ok":true') },
    { name: `ratefetch -c ${concurrency} -q --http2`, command: ratefetch(['--http2']), isOk: (line) => line.includes('"ok":true') },
    {
      name: "curl --http2 --parallel --parallel-max 50 -w '%{json}'",
      command: ({ curlConfig, outFile, certFile }) => [
        'sh',
        '-c',
        `exec curl --http2 --cacert '${certFile}' --parallel --parallel-max 50 -s -K '${curlConfig}' -w '%{json}\\n' > '${outFile}'`,
      ],
      isOk: (line) => line.includes('"http_code":200'),
    },
  ];
}

function clients(repoDir: string, concurrency: number): Client[] {
  return [
    {
      name: `ratefetch -c ${concurrency} -q`,
      command: ({ urlsFile, outFile }) => [process.execPath, join(repoDir, 'bin/ratefetch.js'), urlsFile, '-c', String(concurrency), '-q', '-o', outFile],
      isOk: (line) => line.includes('"ok":true'),
    },
    {
      // The progress bar drawn on a terminal: `script` gives ratefetch a pty for stderr.
      name: `ratefetch -c ${concurrency}, progress bar on a pty`,
      command: ({ urlsFile, outFile }) => [
        'script',
        '-qfec',
        `${process.execPath} ${join(repoDir, 'bin/ratefetch.js')} '${urlsFile}' -c ${concurrency} -o '${outFile}'`,
        '/dev/null',
      ],
      isOk: (line) => line.includes('"ok":true'),
    },
    {
      name: `ratefetch -c ${concurrency} --verbose`,
      command: ({ urlsFile, outFile }) => [
        process.execPath,
        join(repoDir, 'bin/ratefetch.js'),
        urlsFile,
        '-c',
        String(concurrency),
        '--verbose',
        '-o',
        outFile,
      ],
      isOk: (line) => line.includes('"ok":true'),
    },
    {
      name: `bare undici script (${concurrency} in flight)`,
      command: ({ urlsFile, outFile }) => [process.execPath, join(repoDir, 'bench/clients/undici-baseline.mjs'), urlsFile, outFile, String(concurrency)],
      isOk: (line) => line.includes('"ok":true'),
    },
    {
      name: "curl --parallel --parallel-max 50 -w '%{json}'",
      command: ({ curlConfig, outFile }) => ['sh', '-c', `exec curl --parallel --parallel-max 50 -s -K '${curlConfig}' -w '%{json}\\n' > '${outFile}'`],
      isOk: (line) => line.includes('"http_code":200'),
    },
  ];
}

export async function runThroughput(config: ThroughputConfig): Promise<{ rows: ThroughputRow[]; startup: StartupRow[] }> {
  const { repoDir, workDir, urlCount, concurrency, repeat, log } = config;
  const rows: ThroughputRow[] = [];
  const certificate = { certFile: join(workDir, 'https-cert.pem'), keyFile: join(workDir, 'https-key.pem') };
  const { cert, key } = makeSelfSignedCertificate();
  writeFileSync(certificate.certFile, cert);
  writeFileSync(certificate.keyFile, key);
  for (const server of SERVERS) {
    const service = await startService({ cmd: process.execPath, args: server.args(certificate), cwd: repoDir });
    try {
      const urlsFile = join(workDir, 'throughput-urls.txt');
      const curlConfig = join(workDir, 'throughput-curl.cfg');
      const urls = Array.from({ length: urlCount }, (_, i) => `${service.url}/items/${i + 1}`);
      writeFileSync(urlsFile, `${urls.join('\n')}\n`);
      writeFileSync(curlConfig, urls.map((url) => `url = "${url}"\noutput = "/dev/null"\n`).join(''));
      const byClient = (server.tls ? tlsClients : clients)(repoDir, concurrency).map((client) => ({
        client,
        row: { server: server.name, client: client.name, runs: [] as ThroughputRun[] },
      }));
      for (let i = 1; i <= repeat; i++) {
        for (const { client, row } of byClient) {
          if (server.countsConnections) await connectionsSince(service.url);
          const run = await runTimed(
            client,
            { urlsFile, curlConfig, outFile: join(workDir, 'throughput-out.ndjson'), certFile: certificate.certFile },
            workDir,
          );
          if (server.countsConnections) run.connections = await connectionsSince(service.url);
          row.runs.push(run);
          log(
            `  ${server.name} · ${client.name} · run ${i}: ${((urlCount * 1000) / run.wallMs).toFixed(0)} req/s, ${((run.cpuMs * 1000) / urlCount).toFixed(0)} µs CPU a request, ${(run.peakKiB / 1024).toFixed(0)} MiB, ${run.ok}/${urlCount} ok`,
          );
        }
      }
      rows.push(...byClient.map(({ row }) => row));
    } finally {
      service.stop();
    }
  }
  const startup = await runStartup(repoDir, workDir, config.startupRuns, log);
  return { rows, startup };
}

async function runTimed(client: Client, files: Files, workDir: string): Promise<ThroughputRun> {
  const timeFile = join(workDir, 'throughput-time.txt');
  const [cmd, ...args] = client.command(files);
  const exit = await runCapped({ cmd: '/usr/bin/time', args: ['-f', '%e %U %S %M', '-o', timeFile, cmd!, ...args], capMs: 300_000 });
  const [, user, sys, peak] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  const lines = readFileSync(files.outFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  return {
    // The wall from spawn to exit, as the harness saw it (GNU time's own is in 10 ms steps).
    wallMs: exit.wallMs,
    cpuMs: (user! + sys!) * 1000,
    peakKiB: peak!,
    records: lines.length,
    ok: lines.filter(client.isOk).length,
    connections: undefined,
    stderrLine: firstStderrLine(exit.stderr),
  };
}

/** Connections the bare server saw opened since it was last asked. */
async function connectionsSince(url: string): Promise<number> {
  // A connection of its own (agent: false), which the server leaves out of its count.
  const [response] = (await once(get(`${url}/__connections`, { agent: false }), 'response')) as [IncomingMessage];
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return (JSON.parse(text) as { connections: number }).connections;
}

/**
 * Spawn to the first request reaching a server in this process, for bare Node and ratefetch in
 * turn. Both times are read from this process's clock, so they compare exactly.
 */
async function runStartup(repoDir: string, workDir: string, runs: number, log: (line: string) => void): Promise<StartupRow[]> {
  let arrived: (() => void) | undefined;
  const server = createServer((_request, response) => {
    arrived?.();
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/items/1`;
  const listFile = join(workDir, 'startup-url.txt');
  writeFileSync(listFile, `${url}\n`);
  const commands: Array<[string, string[]]> = [
    ['bare node: http.get', ['-e', 'require("http").get(process.argv[1], (r) => r.resume())', url]],
    ['ratefetch (one URL)', [join(repoDir, 'bin/ratefetch.js'), listFile, '-q', '-o', '/dev/null']],
  ];
  const rows: StartupRow[] = commands.map(([client]) => ({ client, arrivalMs: [] }));
  try {
    for (let i = 0; i < runs; i++) {
      for (const [index, [, args]] of commands.entries()) {
        const reached = new Promise<number>((resolve) => (arrived = () => resolve(performance.now())));
        const spawnedAt = performance.now();
        const child = spawn(process.execPath, args, { cwd: repoDir, stdio: 'ignore' });
        const arrivedAt = await reached;
        await once(child, 'close');
        rows[index]!.arrivalMs.push(arrivedAt - spawnedAt);
      }
    }
  } finally {
    server.close();
  }
  for (const row of rows) log(`  start-up · ${row.client}: ${row.arrivalMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  return rows;
}
