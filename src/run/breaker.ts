/**
 * The circuit breaker: when the API is down, stop spending quota and time. It trips on an
 * error rate above --max-error-rate over the last attempts, or on a run of connection
 * failures in a row. An error is a failure to get an answer or a 5xx; a 429 is the API
 * working as designed and does not count.
 */
import type { AttemptOutcome } from '../http/outcome.js';

export interface BreakerSettings {
  /** Trip above this fraction of errors in the window; undefined = rate check off. */
  maxErrorRate: number | undefined;
  /** Trip after this many connection failures in a row; 0 = off. */
  maxConnectionFailures: number;
  /** Attempts the error rate is taken over. */
  windowSize: number;
  /** No verdict on the rate before this many attempts. */
  minSamples: number;
}

const CONNECTION_FAILURES = new Set(['CONNECTION_REFUSED', 'CONNECTION_RESET', 'TIMEOUT', 'DNS_FAILURE', 'NETWORK_ERROR', 'TLS_ERROR']);

export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  /** The last `windowSize` attempts, 1 for an error, as a ring: every attempt passes here. */
  readonly #window: Uint8Array;
  #attemptsInWindow = 0;
  #next = 0; // where the next attempt goes in the ring
  #errorsInWindow = 0;
  #connectionFailuresInARow = 0;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
    this.#window = new Uint8Array(settings.windowSize);
  }

  /** Records one attempt's outcome; returns why the breaker trips, or undefined. */
  record(outcome: AttemptOutcome): string | undefined {
    if (outcome.kind === 'failure' && outcome.code === 'INTERRUPTED') return undefined;
    const isConnectionFailure = outcome.kind === 'failure' && CONNECTION_FAILURES.has(outcome.code);
    const isError = isConnectionFailure || (outcome.kind === 'response' && outcome.status >= 500);

    this.#connectionFailuresInARow = isConnectionFailure ? this.#connectionFailuresInARow + 1 : 0;
    const { maxConnectionFailures, maxErrorRate, windowSize, minSamples } = this.#settings;
    if (maxConnectionFailures > 0 && this.#connectionFailuresInARow >= maxConnectionFailures) {
      return `${this.#connectionFailuresInARow} connection failures in a row (--max-connection-failures)`;
    }

    // The oldest attempt leaves the window as this one takes its place.
    if (this.#attemptsInWindow === windowSize) this.#errorsInWindow -= this.#window[this.#next]!;
    else this.#attemptsInWindow += 1;
    this.#window[this.#next] = isError ? 1 : 0;
    this.#next = (this.#next + 1) % windowSize;
    if (isError) this.#errorsInWindow += 1;
    const attempts = this.#attemptsInWindow;
    if (maxErrorRate !== undefined && attempts >= minSamples) {
      const rate = this.#errorsInWindow / attempts;
      if (rate > maxErrorRate) {
        return `${Math.round(rate * 100)}% of the last ${attempts} attempts failed, above --max-error-rate ${maxErrorRate}`;
      }
    }
    return undefined;
  }
}
