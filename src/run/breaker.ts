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
  readonly #window: boolean[] = [];
  #errorsInWindow = 0;
  #connectionFailuresInARow = 0;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
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

    this.#window.push(isError);
    if (isError) this.#errorsInWindow += 1;
    if (this.#window.length > windowSize && this.#window.shift()) this.#errorsInWindow -= 1;
    if (maxErrorRate !== undefined && this.#window.length >= minSamples) {
      const rate = this.#errorsInWindow / this.#window.length;
      if (rate > maxErrorRate) {
        return `${Math.round(rate * 100)}% of the last ${this.#window.length} attempts failed, above --max-error-rate ${maxErrorRate}`;
      }
    }
    return undefined;
  }
}
