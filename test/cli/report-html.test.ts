// `ratefetch report --html` (issue #26): the page for a 100,000-record, 30-minute run stays under
// 500 KB and asks for nothing over the network; then headless Chromium opens it and the test
// checks that the three charts drew, that nothing was logged as an error and that nothing was
// fetched, and saves a screenshot.
//
// Chromium is driven over the DevTools protocol on --remote-debugging-pipe (fds 3 and 4,
// NUL-separated JSON): no WebSocket, so neither `ws` nor puppeteer-core is needed, and one
// browser gives the console and exception events, the network requests, the canvases' pixels
// and the screenshot, without a line of test code in the page. `--dump-dom` would need the page
// to mark its own drawing and a second launch for `--screenshot`, and scraping
// `--enable-logging` output for console errors depends on Chromium's log format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { FetchRecord } from '../../src/record/record.ts';
import type { StatsJson } from '../../src/report/stats-json.ts';
import { assertUsageError, runCli, tempDir } from './helpers.ts';

const T0 = Date.UTC(2026, 11, 7, 1, 0, 0);
const RECORDS = 100_000;
const RUN_S = 1_800;
const SECRET = 'hunter2-s3cret';
const INJECTION = '</script><script>document.title="pwned"</script><img src=x onerror=alert(1)>';

/** 100,000 records over 30 minutes: about 56 a second, slower and refused for a while in the middle. */
function results(): string {
  const lines: string[] = [];
  for (let line = 1; line <= RECORDS; line += 1) {
    const startedAt = T0 + Math.floor(((line - 1) * RUN_S * 1000) / RECORDS);
    const minute = (startedAt - T0) / 60_000;
    const latencyMs = Math.round(40 + 20 * Math.sin(line / 5_000) + (minute > 10 && minute < 12 ? 150 : 0) + (line % 100 === 0 ? 400 : 0));
    const url = `https://api.example.com/items/${line}`;
    let error: FetchRecord['error'] = null;
    let status = 200;
    if (line % 997 === 0) [status, error] = [500, { code: 'HTTP_STATUS', message: `GET ${url}: 500 Internal Server Error` }];
    else if (line % 1_499 === 0) [status, error] = [0, { code: 'TIMEOUT', message: `GET ${url}?api_key=${SECRET}: timed out after 30s (attempt 6 of 6)` }];
    else if (line === 500) [status, error] = [400, { code: 'HTTP_STATUS', message: `POST ${url}: 400 ${INJECTION}` }];
    const record: FetchRecord = {
      line,
      url,
      finalUrl: url,
      method: 'GET',
      key: `k${line}`,
      ok: error === null,
      final: true,
      status: status === 0 ? null : status,
      attempts: error === null ? 1 : 2,
      ms: latencyMs,
      queuedMs: 0,
      latencyMs,
      startedAt,
      endedAt: startedAt + latencyMs,
      bytes: 2,
      contentType: 'application/json',
      bodyEncoding: 'json',
      body: {},
      error,
    };
    lines.push(JSON.stringify(record));
  }
  return `${lines.join('\n')}\n`;
}

/** The run's stats: answers by class each second, 429s and pauses from minute 10 to 12, the rate cut and found again. */
function stats(): Partial<StatsJson> {
  const perSecond: StatsJson['perSecond'] = [];
  for (let atS = 0; atS < RUN_S; atS += 1) {
    const refused = atS >= 600 && atS < 720 && atS % 7 === 0 ? 3 : 0;
    perSecond.push({
      atS,
      starts: 56,
      answers: { '2xx': 54, '3xx': 0, '4xx': refused + (atS % 40 === 0 ? 1 : 0), '5xx': atS % 18 === 0 ? 1 : 0, failed: atS % 27 === 0 ? 1 : 0 },
      received429: refused,
      pauses: refused > 0 ? 1 : 0,
    });
  }
  return {
    version: 1,
    startedAt: new Date(T0).toISOString(),
    wallMs: RUN_S * 1000,
    received429: perSecond.reduce((sum, second) => sum + second.received429, 0),
    laneRates: [{ lane: 'api.example.com', rps: 55, found: true, settledRps: 55 }],
    rateTimeline: [
      { atMs: 0, lane: 'api.example.com', rps: 60, reason: 'start', why: '--rps 60' },
      { atMs: 600_500, lane: 'api.example.com', rps: 45, reason: 'throttled', why: 'cut: 429' },
      { atMs: 900_000, lane: 'api.example.com', rps: 55, reason: 'found', why: 'probing up' },
    ],
    perSecond,
    pauseTimeline: perSecond
      .filter((second) => second.pauses > 0)
      .map((second) => ({
        atMs: second.atS * 1000 + 200,
        host: 'api.example.com',
        forMs: 2_000,
        source: 'server' as const,
        reason: `429 Too Many Requests, Retry-After 2s ${INJECTION}`,
      })),
  };
}

test('#26: report --html for 100,000 records: a small page that needs no network, and it draws in Chromium', async (t) => {
  const dir = tempDir(t);
  const resultsPath = join(dir, 'night.ndjson');
  const statsPath = join(dir, 'stats.json');
  writeFileSync(resultsPath, results());
  writeFileSync(statsPath, JSON.stringify(stats()));
  const pagePath = join(dir, 'report.html');
  const run = await runCli(['report', resultsPath, '--stats', statsPath, '--html', pagePath], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /100,000 records, 100,000 inputs/, 'the text report still goes to stdout');
  assert.match(run.stderr, /the page is in .*report\.html/);
  const page = readFileSync(pagePath, 'utf8');

  await t.test('the page is small, self-contained, escaped and redacted', () => {
    const bytes = statSync(pagePath).size;
    t.diagnostic(`page: ${(bytes / 1024).toFixed(0)} KB for ${RECORDS} records`);
    assert.ok(bytes < 500_000, `${bytes} bytes`);
    assert.doesNotMatch(page, /<(script|link|img|iframe|source|embed)\b[^>]*\s(src|href)\s*=/i, 'nothing loaded from elsewhere');
    assert.doesNotMatch(page, /url\(\s*['"]?(https?:)?\/\//i, 'no CSS resource from the network');
    assert.doesNotMatch(page, /@import/i);
    assert.equal(page.match(/<script\b/gi)?.length, 3, 'the data, uPlot and the drawing: nothing injected');
    assert.doesNotMatch(page, new RegExp(SECRET), 'messages go through the redactor');
    assert.match(page, /<td><code>HTTP_STATUS<\/code><\/td><td class="n">101<\/td>/, '100 × 500 and the 400');
    assert.match(page, /<td><code>TIMEOUT<\/code><\/td><td class="n">66<\/td>/);
    assert.match(page, /400 &#60;\/script&#62;&#60;script&#62;document\.title=&#34;pwned&#34;/, 'a message is text, not markup');
    assert.match(page, /rate found<\/dt><dd>settled at 55\.0\/s for api\.example\.com/);
  });

  await t.test('Chromium draws the three charts with no console error and no request', async (t) => {
    const chromium = findChromium();
    if (chromium === undefined) return t.skip('chromium not found: apt-get install chromium (CI=true installs it) to run the browser test');
    const seen = await openInChromium(chromium, pagePath, join(dir, 'report.png'));
    assert.deepEqual(seen.problems, [], 'console errors, exceptions or failed loads');
    assert.deepEqual(seen.requests, [], 'the page fetched nothing beyond itself');
    assert.equal(seen.title, `ratefetch report: ${resultsPath}`, 'the title is text: the page ran no injected script');
    assert.deepEqual(
      seen.charts.map((chart) => chart.id),
      ['chart-rate', 'chart-latency', 'chart-answers'],
    );
    for (const chart of seen.charts) {
      assert.ok(chart.width >= 800 && chart.height >= 200, `${chart.id}: ${chart.width}×${chart.height}`);
      assert.ok(chart.painted > chart.width * 5, `${chart.id} drew: ${chart.painted} painted pixels`);
    }
    // Measured: about 145,000 blue, 470 red, 1,300 purple and 1,300 green pixels in the first chart.
    const [rate, latency, answers] = seen.charts as [ChartSeen, ChartSeen, ChartSeen];
    assert.ok(rate.colours.blue > 5_000, `the requests per second are drawn: ${JSON.stringify(rate.colours)}`);
    assert.ok(rate.colours.red > 100, 'the 429s are marked');
    assert.ok(rate.colours.band > 300, 'the pauses are shaded');
    assert.ok(rate.colours.green > 300, 'the rate found is drawn');
    assert.ok(latency.colours.red > 500, `p99 is drawn: ${JSON.stringify(latency.colours)}`);
    assert.ok(answers.colours.green > 500, `2xx are drawn: ${JSON.stringify(answers.colours)}`);
    const png = readFileSync(join(dir, 'report.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1200, 1600], 'IHDR width and height');
    assert.ok(png.length > 50_000, `a screenshot with something in it: ${png.length} bytes`);
    t.diagnostic(`screenshot: ${join(dir, 'report.png')} (removed with the temp dir)`);
  });
});

test('#26: report --html says in one sentence when it cannot write the page', async (t) => {
  const dir = tempDir(t);
  const resultsPath = join(dir, 'ok.ndjson');
  writeFileSync(
    resultsPath,
    `${JSON.stringify({ line: 1, ok: true, final: true, key: 'k1', url: 'https://a.example/', attempts: 1, status: 200, latencyMs: 5, startedAt: T0, endedAt: T0 + 5, error: null })}\n`,
  );
  assertUsageError(
    await runCli(['report', resultsPath, '--html', join(dir, 'missing', 'report.html')]),
    /--html cannot write .*missing\/report\.html: no such file or directory/,
  );
  assertUsageError(await runCli(['report', resultsPath, '--html', dir]), /--html cannot write .*: it is a directory/);
  const json = await runCli(['report', resultsPath, '--json', '--html', join(dir, 'one.html')]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).inputs, 1, '--json still gives the object on stdout');
  assert.match(readFileSync(join(dir, 'one.html'), 'utf8'), /<h2>Requests per second<\/h2>/);
});

/** `chromium` or `chromium-browser` on PATH; under CI=true Debian's package is installed when missing. */
function findChromium(): string | undefined {
  const onPath = () =>
    ['chromium', 'chromium-browser'].flatMap((name) => (process.env.PATH ?? '').split(':').map((dir) => join(dir, name))).find((path) => existsSync(path));
  if (onPath() !== undefined || process.env.CI !== 'true') return onPath();
  const asRoot = (command: string[]) => (process.getuid?.() === 0 ? command : ['sudo', ...command]);
  for (const command of [
    ['apt-get', 'update', '-qq'],
    ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', 'chromium'],
  ]) {
    const [program, ...args] = asRoot(command);
    const step = spawnSync(program!, args, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    assert.equal(step.status, 0, `${command.join(' ')} failed: under CI=true the browser test must run`);
  }
  return onPath() ?? assert.fail('apt-get installed chromium, but it is not on PATH');
}

interface ChartSeen {
  id: string;
  width: number;
  height: number;
  /** Pixels that are not transparent. */
  painted: number;
  /** Pixels near the series colours of report-html.ts: requests (blue), 429s (red), pauses (purple), the rate found (green). */
  colours: { blue: number; red: number; band: number; green: number };
}

interface PageSeen {
  title: string;
  charts: ChartSeen[];
  problems: string[];
  requests: string[];
}

/** In the page: each chart's canvas, how much of it is painted, and in which colours. */
const INSPECT = `(async () => {
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const near = (d, i, [r, g, b]) => Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40 && d[i + 3] > 0;
  const targets = { blue: [9, 105, 218], red: [209, 36, 47], band: [130, 80, 223], green: [26, 127, 55] };
  const charts = [...document.querySelectorAll('[id^="chart-"]')].map((div) => {
    const canvas = div.querySelector('canvas');
    const seen = { id: div.id, width: canvas?.width ?? 0, height: canvas?.height ?? 0, painted: 0, colours: { blue: 0, red: 0, band: 0, green: 0 } };
    if (!canvas) return seen;
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      seen.painted += 1;
      for (const [name, rgb] of Object.entries(targets)) if (near(d, i, rgb)) seen.colours[name] += 1;
    }
    return seen;
  });
  return { title: document.title, charts };
})()`;

/** Opens `pagePath` in headless Chromium, inspects it and saves a 1200×1600 screenshot to `screenshotPath`. */
async function openInChromium(chromium: string, pagePath: string, screenshotPath: string): Promise<PageSeen> {
  const profile = join(pagePath, '..', 'chromium-profile');
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--no-default-browser-check'];
  // Its own process group, so the renderer and the zygote go with it if the test gives up.
  const browser = spawn(chromium, [...args, '--hide-scrollbars', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  browser.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => process.kill(-browser.pid!, 'SIGKILL'), 45_000);
  const cdp = connect(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  try {
    const { targetId } = await cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    const page = <T>(method: string, params: object = {}) => cdp.send<T>(method, params, sessionId);
    await Promise.all([page('Runtime.enable'), page('Log.enable'), page('Network.enable'), page('Page.enable')]);
    await page('Emulation.setDeviceMetricsOverride', { width: 1200, height: 1600, deviceScaleFactor: 1, mobile: false });
    const loaded = cdp.next('Page.loadEventFired', sessionId);
    await page('Page.navigate', { url: pathToFileURL(pagePath).href });
    await loaded;
    const inspected = await page<{ result: { value: Omit<PageSeen, 'problems' | 'requests'> }; exceptionDetails?: unknown }>('Runtime.evaluate', {
      expression: INSPECT,
      awaitPromise: true,
      returnByValue: true,
    });
    assert.equal(inspected.exceptionDetails, undefined, JSON.stringify(inspected.exceptionDetails));
    const shot = await page<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    writeFileSync(screenshotPath, Buffer.from(shot.data, 'base64'));
    const problems = cdp.events.flatMap((event): string[] => {
      const p = event.params as {
        type?: string;
        args?: Array<{ value?: unknown }>;
        exceptionDetails?: { text: string; exception?: { description?: string } };
        entry?: { level: string; text: string };
      };
      if (event.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
        return [`console.${p.type}: ${JSON.stringify(p.args?.map((a) => a.value))}`];
      if (event.method === 'Runtime.exceptionThrown') return [`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`];
      if (event.method === 'Log.entryAdded' && p.entry?.level === 'error') return [`log: ${p.entry.text}`];
      return [];
    });
    const requests = cdp.events
      .filter((event) => event.method === 'Network.requestWillBeSent')
      .map((event) => (event.params as { request: { url: string } }).request.url)
      .filter((url) => url !== pathToFileURL(pagePath).href);
    await cdp.send('Browser.close').catch(() => undefined);
    await exited;
    return { ...inspected.result.value, problems, requests };
  } catch (error) {
    process.kill(-browser.pid!, 'SIGKILL');
    throw new Error(`chromium: ${error instanceof Error ? error.message : String(error)}\nits stderr:\n${stderr.slice(-2_000)}`, { cause: error });
  } finally {
    clearTimeout(killer);
  }
}

interface CdpEvent {
  method: string;
  params: unknown;
  sessionId?: string;
}

/** The DevTools protocol over Chromium's pipe: a message per NUL-terminated JSON text. */
function connect(input: Writable, output: Readable) {
  let id = 0;
  let buffered = '';
  const waiting = new Map<number, { resolve: (result: never) => void; reject: (error: Error) => void; method: string }>();
  const events: CdpEvent[] = [];
  const listeners: Array<(event: CdpEvent) => void> = [];
  output.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const message = JSON.parse(buffered.slice(0, end)) as { id?: number; result?: never; error?: { message: string } } & CdpEvent;
      buffered = buffered.slice(end + 1);
      const caller = message.id === undefined ? undefined : waiting.get(message.id);
      if (caller !== undefined) {
        waiting.delete(message.id!);
        if (message.error) caller.reject(new Error(`${caller.method}: ${message.error.message}`));
        else caller.resolve(message.result as never);
      } else if (message.method !== undefined) {
        events.push(message);
        for (const listener of listeners) listener(message);
      }
    }
  });
  output.on('close', () => {
    for (const caller of waiting.values()) caller.reject(new Error(`${caller.method}: the browser closed the pipe`));
  });
  return {
    events,
    send<T = unknown>(method: string, params: object = {}, sessionId?: string): Promise<T> {
      id += 1;
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
      return new Promise((resolve, reject) => waiting.set(id, { resolve: resolve as (result: never) => void, reject, method }));
    },
    next(method: string, sessionId: string): Promise<CdpEvent> {
      return new Promise((resolve) => listeners.push((event) => event.method === method && event.sessionId === sessionId && resolve(event)));
    },
  };
}
