/**
 * Child processes for the benchmark: every one runs in its own process group with a time cap,
 * and every one still alive is killed by `killAll()` when the benchmark ends, fails or is
 * interrupted. Nothing here is specific to ratefetch or curl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';

export interface RunSpec {
  cmd: string;
  args: string[];
  /** File to connect to stdin; stdin is closed otherwise. */
  stdinPath?: string;
  cwd?: string;
  /** Extra environment variables, on top of the benchmark's own. */
  env?: NodeJS.ProcessEnv;
  /** Stop the process (and its group) after this long. */
  capMs: number;
  /** How to ask it to stop at the cap. @default 'SIGTERM' */
  stopSignal?: NodeJS.Signals;
  /** After the stop signal, SIGKILL the group if it is still there after this long. @default 10_000 */
  graceMs?: number;
  /** Called once with the pid right after spawning (for polling /proc). */
  onStart?: (pid: number) => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From spawn to exit. */
  wallMs: number;
  /** When the stop signal was sent, ms after spawn; null if the process ended by itself. */
  stoppedAtMs: number | null;
  stdout: string;
  stderr: string;
}

// More than any run here prints; a runaway child cannot exhaust the benchmark's memory.
const MAX_CAPTURE_CHARS = 8 * 1024 * 1024;
const live = new Set<ChildProcess>();

/** Runs one command to its end or to its cap, capturing stdout and stderr as text. */
export async function runCapped(spec: RunSpec): Promise<Exit> {
  return startCapped(spec).result;
}

/** A child started by `startCapped`, while it runs. */
export interface Running {
  pid: number | undefined;
  /** What it has printed on stderr so far. */
  stderrSoFar(): string;
  /** Sends a signal to its whole process group (no effect once it has ended). */
  signal(signal: NodeJS.Signals): void;
  /** Settles when it has ended, as `runCapped` does. */
  result: Promise<Exit>;
}

/** As `runCapped`, but returns at once with a handle on the running child. */
export function startCapped(spec: RunSpec): Running {
  const stdin = spec.stdinPath === undefined ? 'ignore' : openSync(spec.stdinPath, 'r');
  const startedAt = performance.now();
  // detached: the child leads a new process group, so a stop reaches xargs' curls too.
  const child = spawn(spec.cmd, spec.args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: [stdin, 'pipe', 'pipe'], detached: true });
  if (typeof stdin === 'number') closeSync(stdin); // the child holds its own copy
  live.add(child);

  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < MAX_CAPTURE_CHARS) stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < MAX_CAPTURE_CHARS) stderr += chunk;
  });

  let stoppedAtMs: number | null = null;
  let killTimer: NodeJS.Timeout | undefined;
  const capTimer = setTimeout(() => {
    stoppedAtMs = performance.now() - startedAt;
    signalGroup(child, spec.stopSignal ?? 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), spec.graceMs ?? 10_000);
  }, spec.capMs);

  let ended = false;
  const result = (async (): Promise<Exit> => {
    try {
      if (child.pid !== undefined) spec.onStart?.(child.pid);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c: number | null, s: NodeJS.Signals | null) => resolve([c, s]));
      });
      return { code, signal, wallMs: performance.now() - startedAt, stoppedAtMs, stdout, stderr };
    } finally {
      ended = true;
      clearTimeout(capTimer);
      clearTimeout(killTimer);
      // Whatever the leader did, leave no stragglers of its group behind.
      signalGroup(child, 'SIGKILL');
      live.delete(child);
    }
  })();
  return {
    pid: child.pid,
    stderrSoFar: () => stderr,
    signal: (signal) => {
      if (!ended) signalGroup(child, signal);
    },
    result,
  };
}

/**
 * Starts a long-running child (a server) that prints its URL as its first line on stdout, and
 * resolves with that URL and a way to stop it. `killAll()` stops it too.
 */
export async function startService(spec: { cmd: string; args: string[]; cwd?: string }): Promise<{ url: string; stop: () => void }> {
  const child = spawn(spec.cmd, spec.args, { cwd: spec.cwd, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  live.add(child);
  const stop = () => {
    signalGroup(child, 'SIGKILL');
    live.delete(child);
  };
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${spec.cmd} ${spec.args.join(' ')} exited with ${code} before it printed its URL`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      seen += chunk;
      const newline = seen.indexOf('\n');
      if (newline >= 0) resolve(seen.slice(0, newline).trim());
    });
  }).catch((error: unknown) => {
    stop();
    throw error;
  });
  child.removeAllListeners('exit');
  return { url, stop };
}

/** Runs a short command to completion and returns its stdout; throws on a non-zero exit. */
export async function capture(cmd: string, args: string[], capMs = 10_000): Promise<string> {
  const exit = await runCapped({ cmd, args, capMs });
  if (exit.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${exit.code ?? exit.signal}: ${exit.stderr.trim()}`);
  return exit.stdout;
}

/** The first line a process printed on stderr that is not in `ignore`, for reports; '' if none. */
export function firstStderrLine(stderr: string, ignore: (line: string) => boolean = () => false): string {
  return (
    stderr
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '' && !ignore(line)) ?? ''
  );
}

/** Kills every child the benchmark started that is still running (and their groups). */
export function killAll(): void {
  for (const child of live) signalGroup(child, 'SIGKILL');
  live.clear();
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** The pid of a direct child of `parentPid` (e.g. the node under /usr/bin/time), if any. */
export function findChildPid(parentPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the ppid; the command name (field 2) may contain spaces, so split after ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parentPid) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** VmRSS and VmHWM of a live process, in KiB; undefined once it has exited. */
export function readMemoryKiB(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (rss === undefined || hwm === undefined) return undefined;
    return { rss: Number(rss), hwm: Number(hwm) };
  } catch {
    return undefined;
  }
}

const TIME_BIN = '/usr/bin/time';

/**
 * `node <args>` under GNU time (`%M`, the peak RSS in KiB, written to `timeOut`) when it is
 * installed, else plain node. `timed` says which: under time, the child pid is time's.
 */
export function underGnuTime(nodeArgs: string[], timeOut: string): { cmd: string; args: string[]; timed: boolean } {
  if (!existsSync(TIME_BIN)) return { cmd: process.execPath, args: nodeArgs, timed: false };
  return { cmd: TIME_BIN, args: ['-f', '%M', '-o', timeOut, process.execPath, ...nodeArgs], timed: true };
}

/** GNU time's -o file: maybe "Command exited with non-zero status 130", then the %M line. */
export function readTimePeak(path: string): number | undefined {
  try {
    const last = readFileSync(path, 'utf8').trim().split('\n').pop() ?? '';
    return /^\d+$/.test(last) ? Number(last) : undefined;
  } catch {
    return undefined;
  }
}
