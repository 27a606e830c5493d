/**
 * The run loop's `send` (SchedulerDeps) against a ServerModel in virtual time: the outcome
 * src/http/attempt.ts would give for the model's answer, when it would give it.
 *
 *   start ──(next turn: mayGoOnTheWire?)── on the wire ──oneWayMs── arrives: model.answer()
 *         ──latencyMs── headers back: the outcome (its body takes no time)
 *
 * As attempt.ts: the whole attempt has a deadline of `timeoutMs` from its start (a hang, or any
 * answer later than that, is a TIMEOUT then); the hard stop ends it at once as INTERRUPTED;
 * and undici writes a request on a later turn of the event loop, when `mayGoOnTheWire` false
 * holds it back unsent. Failures carry the code and message classify.ts gives the socket error
 * undici reports for the same fault.
 */
import { STATUS_CODES } from 'node:http';
import type { AttemptRequest } from '../../src/http/attempt.js';
import { classifyError } from '../../src/http/classify.js';
import type { AttemptOutcome, FailureOutcome, HeldOutcome, ResponseOutcome } from '../../src/http/outcome.js';
import type { SchedulerDeps } from '../../src/run/scheduler.js';
import type { TimerHandle } from '../../src/run/timers.js';
import { formatDuration } from '../../src/text.js';
import type { ModelAnswer, ModelRequest, ServerModel } from '../../fixtures/limiters/model.js';
import type { VirtualTime } from './virtual-time.js';

export interface NetworkSettings {
  /** Client to server: a request arrives this long after it goes on the wire. @default 1 */
  oneWayMs?: number;
  /**
   * Up to this much more on the way, drawn for each request (a busy event loop, a socket's
   * turn, the network): requests paced 50 ms apart may arrive 45 ms apart. @default 0
   */
  jitter?: { maxMs: number; random: () => number };
  /** The client as the model sees it (its address). @default 'sim' */
  client?: string;
  /** The whole attempt's deadline (--timeout). */
  timeoutMs: number;
}

/** One request that reached the model, and what the model did with it. */
export interface Arrival {
  request: ModelRequest;
  answer: ModelAnswer;
}

export function simulatedSend(model: ServerModel, time: VirtualTime, settings: NetworkSettings, onArrival?: (arrival: Arrival) => void): SchedulerDeps['send'] {
  const { oneWayMs = 1, client = 'sim', timeoutMs, jitter } = settings;
  return (request, hardStop, mayGoOnTheWire) =>
    new Promise<AttemptOutcome | HeldOutcome>((resolve) => {
      const startedAt = time.now();
      const elapsed = () => Math.round(time.now() - startedAt);
      const pending: TimerHandle[] = [];
      const at = (t: number, callback: () => void) => void pending.push(time.at(t, callback));
      const end = (outcome: AttemptOutcome | HeldOutcome) => {
        for (const timer of pending) time.clearTimer(timer);
        hardStop.removeEventListener('abort', interrupt);
        resolve(outcome);
      };
      const interrupt = () => end({ kind: 'failure', code: 'INTERRUPTED', message: 'interrupted while in flight', latencyMs: elapsed() });
      if (hardStop.aborted) return interrupt();
      hardStop.addEventListener('abort', interrupt, { once: true });
      at(startedAt + timeoutMs, () => end({ kind: 'failure', code: 'TIMEOUT', message: `timed out after ${formatDuration(timeoutMs)}`, latencyMs: elapsed() }));
      at(startedAt, () => {
        if (!mayGoOnTheWire()) return end({ kind: 'held' });
        const sentAt = time.now();
        at(sentAt + oneWayMs + (jitter === undefined ? 0 : jitter.random() * jitter.maxMs), () => {
          const arrival: ModelRequest = { t: time.now(), client, path: pathOf(request) };
          const answer = model.answer(arrival);
          onArrival?.({ request: arrival, answer });
          if (answer.kind === 'hang') return;
          // The way back takes as long as the way there (without the jitter).
          at(arrival.t + answer.latencyMs + oneWayMs, () => end(outcomeOf(answer, startedAt, sentAt, time.now())));
        });
      });
    });
}

/** Path and query, as a server's access log shows them. */
function pathOf(request: AttemptRequest): string {
  return request.url.pathname + request.url.search;
}

/** What attempt.ts returns for the answer whose headers came back at `answeredAt`. */
function outcomeOf(answer: Exclude<ModelAnswer, { kind: 'hang' }>, startedAt: number, sentAt: number, answeredAt: number): AttemptOutcome {
  const latencyMs = Math.round(answeredAt - startedAt);
  // The errors undici reports for these faults (see the hostile-server pipeline test): a reset,
  // and a body that ends before its Content-Length.
  if (answer.kind === 'reset') return failure(classifyError({ code: 'ECONNRESET' }), latencyMs);
  if (answer.kind === 'truncated') return failure(classifyError({ code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }), latencyMs);
  const headers = lowerCased(answer.headers);
  const outcome: ResponseOutcome = {
    kind: 'response',
    status: answer.status,
    // A Node server sends the standard phrase.
    statusText: STATUS_CODES[answer.status] ?? '',
    headers,
    contentType: headers['content-type'] ?? null,
    bytes: 0,
    bodyEncoding: 'none',
    body: null,
    latencyMs,
    sentMs: sentAt - startedAt,
    roundTripMs: answeredAt - sentAt,
  };
  return outcome;
}

function failure({ code, message }: Pick<FailureOutcome, 'code' | 'message'>, latencyMs: number): FailureOutcome {
  return { kind: 'failure', code, message, latencyMs };
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
