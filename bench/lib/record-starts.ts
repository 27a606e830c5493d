/**
 * Child process for the rate-precision check: runs the built library's `fetchAll` with the
 * CLI's rate options and records when the limiter let each attempt start (the `attempt-start`
 * event, on the same clock the library uses), so the benchmark can tell a limiter that
 * over-admits from arrivals that only bunched on the way to the server.
 *
 *   node --import tsx bench/lib/record-starts.ts URLS_FILE RPS CONCURRENCY OUT_JSON
 *
 * Writes `{"starts":[epoch ms, …],"records":N,"ok":M}` to OUT_JSON.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { fetchAll, readLines } from '../../dist/index.js';

const [urlsFile, rpsText, concurrencyText, outPath] = process.argv.slice(2);
if (urlsFile === undefined || rpsText === undefined || concurrencyText === undefined || outPath === undefined) {
  process.stderr.write('usage: record-starts.ts URLS_FILE RPS CONCURRENCY OUT_JSON\n');
  process.exit(2);
}

const starts: number[] = [];
let records = 0;
let ok = 0;
const input = readLines(createReadStream(urlsFile));
for await (const record of fetchAll(
  input,
  { rps: Number(rpsText), concurrency: Number(concurrencyText) },
  {
    onEvent: (event) => {
      // The library's clock is performance.timeOrigin + performance.now(); read the same here.
      if (event.type === 'attempt-start') starts.push(performance.timeOrigin + performance.now());
    },
  },
)) {
  records++;
  if (record.ok) ok++;
}
writeFileSync(outPath, JSON.stringify({ starts, records, ok }));
