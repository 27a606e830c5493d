// Helpers for the CLI layer: spawn the real `bin/ratefetch.js` (which loads the CLI bundle in
// dist/, so run `npm run build` first), feed it input, collect both streams, and check the contracts every
// CLI test shares: stdout is NDJSON records only, usage errors are one sentence, and so on.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixtureServer, type FixtureServer, type FixtureServerOptions } from '../../fixtures/server.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'ratefetch.js');

const DIST_MAIN = join(ROOT, 'dist', 'cli.bundle.js');
if (!existsSync(DIST_MAIN)) {
  throw new Error('dist/cli.bundle.js is missing: run `npm run build` before the CLI tests (the bin imports the bundle).');
}
// The bundler rewrites the entry on every build, so a source newer than it means a stale dist/.
const newestSource = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts'))
  .reduce((newest, name) => Math.max(newest, statSync(join(ROOT, 'src', name)).mtimeMs), 0);
if (newestSource > statSync(DIST_MAIN).mtimeMs) {
  process.stderr.write('warning: src/ is newer than dist/: the CLI tests run the old build; run `npm run build` first.\n');
}

/** Every stdout line must parse and carry at least these keys. */
const RECORD_KEYS = ['line', 'ok', 'final', 'error'] as const;

/** The record fields the CLI tests look at; the schema itself is src/record.ts. */
export interface CliRecord {
  line: number;
  url: string;
  finalUrl: string | null;
  ok: boolean;
  final: boolean;
  status: number | null;
  attempts: number;
  body: unknown;
  error: { code: string; message: string } | null;
  headers?: Record<string, string | string[]>;
  [key: string]: unknown;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the child, ms (diagnostics only: tests assert behaviour, not timings). */
  ms: number;
  /** True when our safety timer had to kill the child. */
  timedOut: boolean;
}

export interface SpawnOptions {
  /** Text written to stdin and then closed; default: stdin is /dev/null (a cron job's). */
  stdin?: string;
  /** Write `stdin` but leave the pipe open (a producer that has not finished). */
  holdStdin?: boolean;
  /** Added to (or, with undefined, removed from) the clean environment. */
  env?: Record<string, string | undefined>;
  /** The child is killed with SIGKILL after this long. @default 30_000 */
  timeoutMs?: number;
  cwd?: string;
}

/**
 * The environment the CLI runs in: ours minus anything that would change its behaviour
 * behind the test's back (colour forcing, CI, proxies, the test runner's own context).
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(NO_COLOR|FORCE_COLOR|CI|NODE_TEST_CONTEXT|NODE_OPTIONS|COLORTERM)$/.test(name) || /_proxy$/i.test(name)) {
      delete env[name];
    }
  }
  env.TERM = 'xterm';
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Collects a child's output and exit; kills it (SIGKILL) if it outlives `timeoutMs`. */
export function collectChild(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  const started = performance.now();
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close' (not 'exit') so both pipes are drained.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started), timedOut });
    });
  });
}

export interface Running {
  child: ChildProcess;
  result: Promise<CliResult>;
  /** stderr so far, for waiting on a message while the child runs. */
  stderrSoFar(): string;
}

/** Starts `node bin/ratefetch.js ...args`. */
export function spawnCli(args: string[], opts: SpawnOptions = {}): Running {
  const stdio: StdioOptions = [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: cleanEnv(opts.env), stdio });
  if (opts.stdin !== undefined) {
    child.stdin?.on('error', () => undefined); // the CLI may exit before reading it all
    if (opts.holdStdin) child.stdin?.write(opts.stdin);
    else child.stdin?.end(opts.stdin);
  }
  let stderr = '';
  const result = collectChild(child, opts.timeoutMs ?? 30_000);
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  return { child, result, stderrSoFar: () => stderr };
}

/** Runs the CLI to the end. */
export async function runCli(args: string[], opts: SpawnOptions = {}): Promise<CliResult> {
  const result = await spawnCli(args, opts).result;
  assert.equal(result.timedOut, false, `ratefetch ${args.join(' ')} did not finish in time\nstderr:\n${result.stderr}`);
  return result;
}

/** Runs `sh -c script` with the same clean environment (for pipelines such as `| head`). */
export async function runShell(script: string, opts: Omit<SpawnOptions, 'stdin'> = {}): Promise<CliResult> {
  const child = spawn('sh', ['-c', script], { cwd: opts.cwd ?? ROOT, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await collectChild(child, opts.timeoutMs ?? 30_000);
  assert.equal(result.timedOut, false, `sh -c ${script} did not finish in time\nstderr:\n${result.stderr}`);
  return result;
}

/** Quotes one word for sh. */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs the CLI, for sh and script(1). */
export function cliCommand(args: string[]): string {
  return [process.execPath, BIN, ...args].map(shq).join(' ');
}

let scriptAvailable: boolean | undefined;
/** Whether util-linux script(1) is here to give the CLI a pseudo-terminal. */
export function hasScript(): boolean {
  scriptAvailable ??= spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0;
  return scriptAvailable;
}
export const NO_SCRIPT = 'script(1) from util-linux is not installed: cannot give the CLI a pseudo-terminal';

/**
 * Runs `command` (a sh command line) under a pseudo-terminal: `script -qec command /dev/null`.
 * Whatever the command sends to the terminal comes back as `stdout` (the pty turns \n into
 * \r\n); `code` is the command's exit code (script -e).
 */
export async function runInPty(command: string, opts: Omit<SpawnOptions, 'stdin'> = {}): Promise<CliResult> {
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: opts.cwd ?? ROOT,
    env: cleanEnv(opts.env),
    // script copies its stdin to the terminal; a pipe we never write keeps it from seeing EOF.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const result = await collectChild(child, opts.timeoutMs ?? 30_000);
  child.stdin?.destroy();
  assert.equal(result.timedOut, false, `script -qec ${command} did not finish in time\noutput:\n${result.stdout}`);
  return result;
}

/** A fixture server on 127.0.0.1, port 0, closed when the test ends. */
export async function startServer(t: TestContext, opts?: FixtureServerOptions): Promise<FixtureServer> {
  const server = await startFixtureServer(opts);
  t.after(() => server.close());
  return server;
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `lines` (one per line, with a final newline) to `dir/name` and returns the path. */
export function writeLines(dir: string, name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

/**
 * Parses stdout (or an -o file) as NDJSON: it ends with a newline, and every line is a JSON
 * object with `line`, `ok`, `final` and `error`. Anything else on stdout fails the test.
 */
export function parseRecords(text: string, what = 'stdout'): CliRecord[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${what} ends with a partial line: ${JSON.stringify(text.slice(-200))}`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        assert.fail(`${what} line ${i + 1} is not JSON: ${JSON.stringify(line.slice(0, 300))}`);
      }
      assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} line ${i + 1} is not a JSON object`);
      for (const key of RECORD_KEYS) assert.ok(key in value, `${what} line ${i + 1} has no "${key}": ${line.slice(0, 300)}`);
      return value as CliRecord;
    });
}

/** Exactly one record per expected input line, each line once. */
export function assertOneRecordPerLine(records: readonly CliRecord[], lines: readonly number[]): void {
  const seen = records.map((r) => r.line).sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    [...lines].sort((a, b) => a - b),
    'one record per input line, each line once',
  );
}

/** 1..n. */
export function range(n: number, from = 1): number[] {
  return Array.from({ length: n }, (_, i) => i + from);
}

/** Lines that look like a JS stack frame. */
export const STACK_LINE = /^\s+at .+/m;

/**
 * The usage-error contract: exit 2, nothing on stdout, and on stderr exactly one line
 * `ratefetch: <sentence>` followed by `Run 'ratefetch --help' for usage.`; no stack trace.
 */
export function assertUsageError(result: CliResult, mentions?: RegExp): void {
  const context = `\nexit ${result.code}\nstdout: ${JSON.stringify(result.stdout)}\nstderr:\n${result.stderr}`;
  assert.equal(result.code, 2, `exit code${context}`);
  assert.equal(result.stdout, '', `nothing on stdout${context}`);
  assert.doesNotMatch(result.stderr, STACK_LINE, `no stack trace${context}`);
  assert.doesNotMatch(result.stderr, /internal error/, `not an internal error${context}`);
  const lines = result.stderr.split('\n');
  assert.equal(lines.at(-1), '', `stderr ends with a newline${context}`);
  assert.equal(lines.length, 3, `exactly one sentence and the help hint${context}`);
  const [sentence = '', hint] = lines;
  assert.match(sentence, /^ratefetch: \S.{4,}$/, `one readable sentence starting 'ratefetch:'${context}`);
  assert.ok(sentence.length <= 240, `the sentence is short${context}`);
  assert.equal(hint, "Run 'ratefetch --help' for usage.", `help hint${context}`);
  if (mentions) assert.match(sentence, mentions, `the sentence says what was wrong${context}`);
}

/** ANSI CSI sequences (`ESC [`). */
export const ESC_CSI = '\u001b[';

/** Waits until `check()` is true, polling every 20 ms; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export type { FixtureServer };
