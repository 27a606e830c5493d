// What a person or a log file sees on stderr. Off a terminal (cron, CI): plain lines only,
// no escape sequences, no carriage returns. On a terminal (script(1) gives a pty): the live
// bar and the summary, colours unless NO_COLOR, and the terminal left as it was found.
// The 10 s cadence of the plain progress line is unit-tested (test/unit/progress-plain.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ESC_CSI,
  NO_SCRIPT,
  STACK_LINE,
  assertOneRecordPerLine,
  cliCommand,
  hasScript,
  parseRecords,
  range,
  runCli,
  runInPty,
  shq,
  startServer,
  tempDir,
  waitFor,
  writeLines,
} from './helpers.ts';

/** SGR sequences (`ESC [ … m`) that set a foreground or background colour. */
function colourSequences(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/\u001b\[([0-9;]*)m/g)) {
    const params = (match[1] ?? '').split(';').map(Number);
    if (params.some((p) => (p >= 30 && p <= 49 && p !== 39 && p !== 49) || (p >= 90 && p <= 107))) found.push(JSON.stringify(match[0]));
  }
  return found;
}

/** Line-wrap is on at the end: every `ESC[?7l` (wrap off, while the bar is up) is undone by a later `ESC[?7h`. */
function assertWrapRestored(output: string): void {
  const off = output.lastIndexOf(`${ESC_CSI}?7l`);
  if (off === -1) return;
  assert.ok(output.indexOf(`${ESC_CSI}?7h`, off) > off, 'line-wrap (ESC[?7h) is turned back on after the bar');
}

test('not a TTY, cron-like (stdin /dev/null, CI=true): stderr is plain lines only, with the summary', async (t) => {
  const server = await startServer(t);
  const input = writeLines(tempDir(t), 'urls.txt', [
    `${server.url}/ok`,
    `${server.url}/status/404`,
    `${server.url}/flaky/x?fail=1&status=503&retryAfter=0`,
    `${server.url}/flaky/y?fail=1&status=429&retryAfter=0`,
    ...range(20).map((i) => `${server.url}/items/${i}`),
  ]);
  // --verbose too: its retry and pause lines must be as plain as the rest.
  const result = await runCli([input, '--rps', '20', '--verbose'], { env: { CI: 'true' } });
  assert.equal(result.code, 1, result.stderr);
  assertOneRecordPerLine(parseRecords(result.stdout), range(24));
  assert.ok(!result.stderr.includes(ESC_CSI), `no ANSI escape on a non-TTY stderr:\n${JSON.stringify(result.stderr)}`);
  assert.ok(!result.stderr.includes('\r'), 'no carriage return on a non-TTY stderr');
  assert.ok(!/[█░]/.test(result.stderr), 'no progress bar drawing');
  assert.match(result.stderr, /^ratefetch: done$/m);
  assert.match(result.stderr, /^ {2}records +24$/m);
  assert.match(result.stderr, /^ {2}failed +1\b/m);
  assert.match(result.stderr, /^retry line 3 /m, 'the --verbose retry line');
  assert.doesNotMatch(result.stderr, STACK_LINE);
  // Every line is a ratefetch line, an indented summary line or a --verbose line.
  for (const line of result.stderr.split('\n').filter(Boolean)) {
    assert.match(line, /^(ratefetch: | {2}\S|retry line |pause |rate )/, `unexpected stderr line: ${JSON.stringify(line)}`);
  }
});

test('not a TTY, stdin piped: no escapes either, even with TERM and FORCE_COLOR unset', async (t) => {
  const server = await startServer(t);
  const result = await runCli(['-'], { stdin: `${server.url}/ok\n${server.url}/items/1\n`, env: { TERM: undefined } });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stderr.includes(ESC_CSI) && !result.stderr.includes('\r'), JSON.stringify(result.stderr));
  assert.match(result.stderr, /^ratefetch: done$/m);
});

test('TTY: the live bar is drawn on the terminal, the summary follows, stdout (a file) has only records', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(20).map((i) => `${server.url}/items/${i}`),
  );
  const out = join(dir, 'out.ndjson');
  // About one second at 20/s: several redraws at the 200 ms TTY interval.
  const result = await runInPty(`${cliCommand([input, '--rps', '20'])} >${shq(out)}`);
  assert.equal(result.code, 0, result.stdout);
  assertOneRecordPerLine(parseRecords(readFileSync(out, 'utf8'), out), range(20));

  const tty = result.stdout;
  assert.ok(tty.includes(ESC_CSI) || tty.includes('\r'), 'cursor control for the redraw');
  assert.match(tty, /[█░]/, 'the bar characters');
  assert.match(tty, /100% 20\/20/, 'the bar reaches 20/20');
  assert.match(tty, /ratefetch: done/);
  assert.match(tty, /records\S*\s+(\S*)20/);
  assert.ok(colourSequences(tty).length > 0, 'colours on a colour terminal (TERM=xterm)');
  assertWrapRestored(tty);
});

test('TTY, records on the same terminal (no -o): the bar steps aside for them, so each record is written whole with line-wrap on', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const server = await startServer(t);
  const input = writeLines(
    tempDir(t),
    'urls.txt',
    range(20).map((i) => `${server.url}/items/${i}`),
  );
  // About one second at 20/s: the bar is redrawn between the records.
  const result = await runInPty(cliCommand([input, '--rps', '20']));
  assert.equal(result.code, 0, result.stdout);
  const tty = result.stdout;
  assert.match(tty, /[█░]/, 'the bar is drawn');
  const records = [...tty.matchAll(/\{"line":\d+[^\r\n]*\}\r?\n/g)];
  assertOneRecordPerLine(parseRecords(records.map((m) => m[0].replace('\r', '')).join(''), 'the terminal'), range(20));
  for (const record of records) {
    // With line-wrap off (the bar's state) a record wider than the terminal would be cut at its edge.
    const before = tty.slice(0, record.index);
    assert.ok(before.lastIndexOf(`${ESC_CSI}?7h`) > before.lastIndexOf(`${ESC_CSI}?7l`), `line-wrap is on for ${record[0].slice(0, 40)}…`);
  }
  assert.match(tty, /ratefetch: done/);
  assertWrapRestored(tty);
});

test('TTY with NO_COLOR=1: the bar and summary, but no colour SGR sequence', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'urls.txt', [...range(10).map((i) => `${server.url}/items/${i}`), `${server.url}/status/404`]);
  const out = join(dir, 'out.ndjson');
  const result = await runInPty(`${cliCommand([input, '--rps', '20'])} >${shq(out)}`, { env: { NO_COLOR: '1' } });
  assert.equal(result.code, 1, result.stdout);
  const tty = result.stdout;
  assert.match(tty, /[█░]/, 'the bar is still drawn');
  assert.match(tty, /ratefetch: done/);
  assert.deepEqual(colourSequences(tty), [], 'no colour with NO_COLOR');
});

test('TTY with --no-progress: no bar, the summary still prints', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(10).map((i) => `${server.url}/items/${i}`),
  );
  const result = await runInPty(`${cliCommand([input, '--rps', '20', '--no-progress'])} >${shq(join(dir, 'out'))}`);
  assert.equal(result.code, 0, result.stdout);
  assert.doesNotMatch(result.stdout, /[█░]/);
  assert.match(result.stdout, /ratefetch: done/);
});

test('TTY, Ctrl-C twice: exit 130 and the terminal is given back with line-wrap on', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const server = await startServer(t);
  const dir = tempDir(t);
  const input = writeLines(
    dir,
    'urls.txt',
    range(20).map((i) => `${server.url}/hang?i=${i}`),
  );
  const pidFile = join(dir, 'pid');
  // `exec` keeps the pid written by the shell, so the test can signal the CLI itself.
  const command = `echo $$ >${shq(pidFile)}; exec ${cliCommand([input, '-c', '2', '--timeout', '60'])} >${shq(join(dir, 'out'))}`;
  const running = runInPty(command, { timeoutMs: 20_000 });
  await waitFor(() => server.countRequests() >= 2, 'two hung requests');
  // Let the bar draw at least once (200 ms interval) before the interrupt.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  process.kill(pid, 'SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 300));
  process.kill(pid, 'SIGINT');
  const result = await running;
  assert.equal(result.code, 130, result.stdout);
  assert.match(result.stdout, /[█░]|done/, 'the bar was up');
  assertWrapRestored(result.stdout);
  assert.doesNotMatch(result.stdout, STACK_LINE);
});
