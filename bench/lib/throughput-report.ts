/**
 * The throughput section (issue #24): per server and client, requests per second, CPU per
 * request and peak RSS as min–median–max over the runs, then ratefetch's ratios to the bare
 * undici script and to curl, taken run by run (each pair ran back to back), and start-up.
 */
import type { StartupRow, ThroughputRow, ThroughputRun } from '../scenarios/throughput.js';
import { markdownTable } from './report.js';
import { median } from './units.js';

export function throughputTable(rows: readonly ThroughputRow[], urlCount: number): string {
  return markdownTable(
    ['server', 'client', 'requests/s (wall)', 'CPU a request (user + sys, µs)', 'peak RSS MiB', 'records ok', 'connections opened'],
    rows.map((row) => [
      row.server,
      row.client,
      spread(
        row.runs.map((run) => (urlCount * 1000) / run.wallMs),
        0,
      ),
      spread(
        row.runs.map((run) => (run.cpuMs * 1000) / urlCount),
        0,
      ),
      spread(
        row.runs.map((run) => run.peakKiB / 1024),
        0,
      ),
      spread(
        row.runs.map((run) => run.ok),
        0,
      ),
      row.runs.every((run) => run.connections === undefined)
        ? '—'
        : spread(
            row.runs.map((run) => run.connections ?? Number.NaN),
            0,
          ),
    ]),
  );
}

/** ratefetch against the others on each server, as ratios of paired runs. */
export function throughputRatios(rows: readonly ThroughputRow[]): string[] {
  const lines: string[] = [];
  for (const server of new Set(rows.map((row) => row.server))) {
    const onServer = rows.filter((row) => row.server === server);
    if (onServer.length === 3) {
      lines.push(tlsRatios(server, onServer));
      continue;
    }
    const [ratefetch, tty, verbose, undici, curl] = onServer;
    if (ratefetch === undefined || tty === undefined || verbose === undefined || undici === undefined || curl === undefined) continue;
    const rate = (other: ThroughputRow) =>
      spread(
        paired(ratefetch, other, (a, b) => b.wallMs / a.wallMs),
        2,
      );
    const display = (shown: ThroughputRow) =>
      spread(
        paired(shown, ratefetch, (a, b) => b.wallMs / a.wallMs),
        2,
      );
    const cpu = (other: ThroughputRow) =>
      spread(
        paired(ratefetch, other, (a, b) => a.cpuMs / b.cpuMs),
        2,
      );
    lines.push(
      `${server}: ratefetch's requests/s ÷ the bare undici script's ${rate(undici)} (target ≥ 0.9), ÷ curl's ${rate(curl)} (target ≥ 1.0); its CPU a request ÷ the script's ${cpu(undici)} (target ≤ 1.2), ÷ curl's ${cpu(curl)}. With the progress bar on a pty its requests/s are ${display(tty)} of those with -q, with --verbose ${display(verbose)} (target ≥ 0.95).`,
    );
  }
  return lines;
}

/** The https server's rows: ratefetch over HTTP/1.1, with --http2, and curl --http2. */
function tlsRatios(server: string, [http1, http2, curl]: ThroughputRow[]): string {
  const rate = (a: ThroughputRow, b: ThroughputRow) =>
    spread(
      paired(a, b, (x, y) => y.wallMs / x.wallMs),
      2,
    );
  const cpu = (a: ThroughputRow, b: ThroughputRow) =>
    spread(
      paired(a, b, (x, y) => x.cpuMs / y.cpuMs),
      2,
    );
  return `${server}: ratefetch --http2's requests/s ÷ its own over HTTP/1.1 ${rate(http2!, http1!)}, ÷ curl --http2's ${rate(http2!, curl!)}; its CPU a request ÷ HTTP/1.1's ${cpu(http2!, http1!)}.`;
}

export function startupTable(rows: readonly StartupRow[]): string {
  return markdownTable(
    ['client', 'spawn to request at the server, median ms', 'runs (ms)'],
    rows.map((row) => [row.client, median(row.arrivalMs).toFixed(0), row.arrivalMs.map((ms) => ms.toFixed(0)).join(', ')]),
  );
}

export function startupReading(rows: readonly StartupRow[]): string {
  const [node, ratefetch] = rows;
  if (node === undefined || ratefetch === undefined) return '';
  const extra = median(ratefetch.arrivalMs) - median(node.arrivalMs);
  return `ratefetch's median is bare Node's + ${extra.toFixed(0)} ms (target: + 100 ms at most).`;
}

function paired(a: ThroughputRow, b: ThroughputRow, ratio: (x: ThroughputRun, y: ThroughputRun) => number): number[] {
  return a.runs.slice(0, b.runs.length).map((run, i) => ratio(run, b.runs[i]!));
}

/** `median (min–max)`, or the value alone for one run. */
function spread(values: number[], digits: number): string {
  const format = (value: number) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (values.length === 1) return format(values[0]!);
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
}
