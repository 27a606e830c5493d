/**
 * `npm run simulate`: the rate controller (src/rate/adaptive-rate.ts) against model servers, in
 * virtual time. No network, no timers, the same figures every run: a change to the controller
 * shows its effect in seconds, where `npm run bench -- limits` takes minutes and its figures
 * move with the machine's load. The bench stays the measure; this is for trying ideas.
 *
 *   npm run simulate                          every model, --rps auto and --rps 40
 *   npm run simulate -- tb5 off               only those models
 *   npm run simulate -- --trace tb5 40 219 25 one run: model, rps (auto or a number), start
 *                                             phase ms, latency ms; every rate change and 429
 *
 * The client model: starts paced exactly at the controller's rate (or the ceiling), no
 * concurrency cap, each answered `latency` ms later; a 429 pauses the lane for its
 * Retry-After (whole seconds, rounded up, as the bench's fixture sends it) and is retried.
 * The server counts a request when it starts (no one-way delay). Each model runs 300 requests
 * at a limit of 20/s from start phases 0, 73, … 949 ms past a whole second and latencies 5,
 * 25 and 60 ms; span / ideal is from the first start to the last, and the 429s per run count
 * every refused start, those already in flight when the first came back included.
 */
import { AdaptiveRate } from '../src/rate/adaptive-rate.js';

const COUNT = 300;
const LIMIT = 20;
const PHASES_MS = Array.from({ length: 14 }, (_, i) => i * 73);
const LATENCIES_MS = [5, 25, 60];

/** Accepts a request started at `t` (ms), or refuses it with a Retry-After in ms. */
type Server = (t: number) => { ok: true } | { ok: false; retryAfterMs: number };

interface Model {
  describe: string;
  make: (firstStartMs: number) => Server;
  idealMs: number;
}

/** `limitAt(t)` per one-second window; windows turn over `phaseMs` after each whole second. */
function fixedWindow(limitAt: (t: number) => number, phaseMs = 0): Server {
  let windowId = NaN;
  let accepted = 0;
  return (t) => {
    const id = Math.floor((t - phaseMs) / 1000);
    if (id !== windowId) {
      windowId = id;
      accepted = 0;
    }
    if (accepted >= limitAt(t)) return { ok: false, retryAfterMs: roundUpToSecond((id + 1) * 1000 + phaseMs - t) };
    accepted += 1;
    return { ok: true };
  };
}

function tokenBucket(rps: number, depth: number): Server {
  let tokens = depth;
  let at = NaN;
  return (t) => {
    tokens = Number.isNaN(at) ? depth : Math.min(depth, tokens + ((t - at) * rps) / 1000);
    at = t;
    if (tokens < 1) return { ok: false, retryAfterMs: roundUpToSecond(((1 - tokens) * 1000) / rps) };
    tokens -= 1;
    return { ok: true };
  };
}

function roundUpToSecond(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000)) * 1000;
}

const MODELS: Record<string, Model> = {
  ra: { describe: 'fixed windows on the clock', make: () => fixedWindow(() => LIMIT), idealMs: (COUNT / LIMIT) * 1000 },
  off: { describe: 'fixed windows turning over at x.5 s', make: () => fixedWindow(() => LIMIT, 500), idealMs: (COUNT / LIMIT) * 1000 },
  halving: {
    describe: 'fixed windows, halved after 10 s',
    make: (first) => fixedWindow((t) => (t - first < 10_000 ? LIMIT : LIMIT / 2)),
    idealMs: 10_000 + ((COUNT - LIMIT * 10) / (LIMIT / 2)) * 1000,
  },
  tb1: { describe: 'token bucket, depth 1', make: () => tokenBucket(LIMIT, 1), idealMs: (COUNT / LIMIT) * 1000 },
  tb5: { describe: 'token bucket, depth 5', make: () => tokenBucket(LIMIT, 5), idealMs: (COUNT / LIMIT) * 1000 },
};

interface Run {
  spanMs: number;
  refused: number;
  /** `12.34:19.4t`: at 12.34 s (from the first start), the rate became 19.4/s, for a throttle (t) or a clean spell (c). */
  changes: string[];
  refusals: string[];
}

function simulate(model: Model, rps: 'auto' | number, phaseMs: number, latencyMs: number): Run {
  const first = 10_000 + phaseMs;
  const server = model.make(first);
  const ceiling = rps === 'auto' ? Infinity : rps;
  const controller = new AdaptiveRate({ auto: rps === 'auto', ceilingRps: ceiling, now: first });
  const answers: Array<{ at: number; startedAt: number; retryAfterMs: number | null }> = [];
  const run: Run = { spanMs: 0, refused: 0, changes: [], refusals: [] };
  const seconds = (t: number) => ((t - first) / 1000).toFixed(2);
  let lastStart = -Infinity;
  let pausedUntil = -Infinity;
  let waiting = COUNT; // requests not yet sent, retries included
  let accepted = 0;
  while (accepted < COUNT) {
    const nextStart = Math.max(first, lastStart + 1000 / Math.min(controller.rps, ceiling), pausedUntil);
    const answer = answers[0];
    if (answer !== undefined && (answer.at <= nextStart || waiting === 0)) {
      answers.shift();
      const change =
        answer.retryAfterMs === null
          ? controller.noteAccepted(answer.at, answer.startedAt)
          : controller.noteThrottled(answer.at, answer.startedAt, answer.retryAfterMs);
      if (answer.retryAfterMs === null) {
        accepted += 1;
      } else {
        controller.notePause(answer.at, answer.at + answer.retryAfterMs);
        pausedUntil = Math.max(pausedUntil, answer.at + answer.retryAfterMs);
        waiting += 1;
      }
      if (change !== undefined) run.changes.push(`${seconds(answer.at)}:${change.rps.toFixed(1)}${change.reason[0]}`);
      continue;
    }
    lastStart = nextStart;
    waiting -= 1;
    const filled = controller.noteStart(nextStart);
    if (filled !== undefined) pausedUntil = Math.max(pausedUntil, filled.holdUntil);
    const verdict = server(nextStart);
    if (!verdict.ok) {
      run.refused += 1;
      run.refusals.push(`${seconds(nextStart)}(${verdict.retryAfterMs / 1000}s)`);
    }
    answers.push({ at: nextStart + latencyMs, startedAt: nextStart, retryAfterMs: verdict.ok ? null : verdict.retryAfterMs });
    run.spanMs = nextStart - first;
  }
  return run;
}

function summarize(name: string, rps: 'auto' | number): string {
  const model = MODELS[name]!;
  const ratios: number[] = [];
  let refused = 0;
  for (const phaseMs of PHASES_MS) {
    for (const latencyMs of LATENCIES_MS) {
      const run = simulate(model, rps, phaseMs, latencyMs);
      ratios.push(run.spanMs / model.idealMs);
      refused += run.refused;
    }
  }
  ratios.sort((a, b) => a - b);
  const mean = ratios.reduce((sum, r) => sum + r, 0) / ratios.length;
  const median = ratios[Math.floor(ratios.length / 2)]!;
  const label = `${name} (${model.describe}), --rps ${rps}`;
  return `${label.padEnd(56)} span/ideal mean ${mean.toFixed(3)}  median ${median.toFixed(3)}  worst ${ratios.at(-1)!.toFixed(3)}  429s per run ${(refused / ratios.length).toFixed(1)}`;
}

function usage(message: string): never {
  process.stderr.write(`simulate: ${message}\nmodels: ${Object.keys(MODELS).join(', ')}\n`);
  process.exit(2);
}

// `npm run simulate | head` closes the pipe early: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

const args = process.argv.slice(2);
if (args[0] === '--trace') {
  const [name = '', rpsText = '', phaseText = '0', latencyText = '25'] = args.slice(1);
  const model = MODELS[name] ?? usage(`unknown model ${JSON.stringify(name)}`);
  const rps = rpsText === 'auto' ? 'auto' : Number(rpsText);
  if (rps !== 'auto' && !(rps > 0)) usage('rps is auto or a number above 0');
  const run = simulate(model, rps, Number(phaseText), Number(latencyText));
  process.stdout.write(
    `span / ideal ${(run.spanMs / model.idealMs).toFixed(3)}, ${run.refused} × 429\nrate changes: ${run.changes.join(' ')}\n429s: ${run.refusals.join(' ')}\n`,
  );
} else {
  const names = args.length > 0 ? args : Object.keys(MODELS);
  for (const name of names) if (MODELS[name] === undefined) usage(`unknown model ${JSON.stringify(name)}`);
  for (const rps of ['auto', 40] as const) for (const name of names) process.stdout.write(`${summarize(name, rps)}\n`);
}
