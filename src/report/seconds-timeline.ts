/**
 * The run second by second, for --stats-file and `ratefetch report`: starts, answers by class,
 * 429s, and the pauses that began in each second. Seconds count from the run's start; a second
 * in which nothing happened has no entry. A day of seconds is kept (the oldest go first), about
 * 100 bytes of JSON each.
 */
import type { RunEvent } from '../events.js';

export interface TimelineSecond {
  /** Whole seconds since the run started. */
  atS: number;
  starts: number;
  /** Answers by status class; `failed`: no answer (a reset, a timeout, a refused connection). */
  answers: { '2xx': number; '3xx': number; '4xx': number; '5xx': number; failed: number };
  received429: number;
  /** Host pauses that began in this second (a 429's or 503's Retry-After, a backoff). */
  pauses: number;
}

const MAX_SECONDS = 86_400;

export class SecondsTimeline {
  readonly #seconds = new Map<number, TimelineSecond>();

  constructor(private readonly startedAt: number) {}

  /** `now` is read only for the events a second counts: most events pass without a clock read. */
  onEvent(event: RunEvent, now: () => number): void {
    switch (event.type) {
      case 'attempt-start':
        this.#at(now()).starts += 1;
        break;
      case 'attempt-held':
        this.#at(now()).starts -= 1;
        break;
      case 'attempt-end': {
        const second = this.#at(now());
        if (event.status === null) second.answers.failed += 1;
        else second.answers[statusClass(event.status)] += 1;
        if (event.status === 429) second.received429 += 1;
        break;
      }
      case 'remote-attempts': {
        // Other processes' answers are not told by class: their starts and 429s are.
        const second = this.#at(now());
        second.starts += event.started;
        second.received429 += event.refused;
        break;
      }
      case 'pause':
        this.#at(now()).pauses += 1;
        break;
    }
  }

  /** The seconds, in order. */
  seconds(): TimelineSecond[] {
    return [...this.#seconds.values()].sort((a, b) => a.atS - b.atS);
  }

  #at(now: number): TimelineSecond {
    const atS = Math.max(0, Math.floor((now - this.startedAt) / 1000));
    let second = this.#seconds.get(atS);
    if (second === undefined) {
      if (this.#seconds.size >= MAX_SECONDS) this.#seconds.delete(this.#seconds.keys().next().value as number);
      second = { atS, starts: 0, answers: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, failed: 0 }, received429: 0, pauses: 0 };
      this.#seconds.set(atS, second);
    }
    return second;
  }
}

function statusClass(status: number): '2xx' | '3xx' | '4xx' | '5xx' {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}
