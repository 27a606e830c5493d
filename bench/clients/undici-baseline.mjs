// The ceiling for a Node client (issue #24): a bare undici loop, nothing else. It keeps
// CONCURRENCY requests in flight, parses each JSON body and writes one JSON line per answer,
// as ratefetch does, but with no pacing, retries, redaction, events or crash-safe output.
//
//   node bench/clients/undici-baseline.mjs URLS_FILE OUT_FILE [CONCURRENCY]
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

const [urlsFile, outFile, concurrencyText = '64'] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const urls = readFileSync(urlsFile, 'utf8')
  .split('\n')
  .filter((line) => line !== '');
const out = createWriteStream(outFile);
// Every worker waiting for drain adds its own listeners: as many as there are workers is no leak.
out.setMaxListeners(concurrency + 10);
const dispatcher = new Agent({ connections: concurrency });
let next = 0;

async function worker() {
  while (next < urls.length) {
    const index = next++;
    const url = urls[index];
    const startedAt = performance.now();
    let record;
    try {
      const response = await request(url, { dispatcher });
      const body = await response.body.json();
      const ok = response.statusCode < 400;
      record = { line: index + 1, url, ok, status: response.statusCode, ms: Math.round(performance.now() - startedAt), body };
    } catch (error) {
      record = { line: index + 1, url, ok: false, error: error.code ?? String(error) };
    }
    if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
out.end();
await once(out, 'finish');
await dispatcher.close();
