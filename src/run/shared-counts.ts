/**
 * Attempt counts across the processes of a run shared through Redis, so the coordinator's
 * progress and summary count every worker's requests, 429s and retries, not its own alone.
 * Each worker adds what it did to one hash now and then; the coordinator reads the hash and
 * tells its stats the difference as a `remote-attempts` event.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { RunEvent } from '../events.js';

const FIELDS = ['started', 'ended', 'refused', 'retries'] as const;
type Counts = Record<(typeof FIELDS)[number], number>;

const countsKey = (name: string) => `ratefetch:{${name}}:attempts`;
const zero = (): Counts => ({ started: 0, ended: 0, refused: 0, retries: 0 });

/** A worker's side: count its attempts from its events, and add them to the run's hash with `flush`. */
export class AttemptCounter {
  #unsent = zero();

  constructor(private readonly name: string) {}

  onEvent(event: RunEvent): void {
    if (event.type === 'attempt-start') this.#unsent.started += 1;
    else if (event.type === 'attempt-held') this.#unsent.started -= 1;
    else if (event.type === 'attempt-end') {
      this.#unsent.ended += 1;
      if (event.status === 429) this.#unsent.refused += 1;
    } else if (event.type === 'retry') this.#unsent.retries += 1;
  }

  /** Adds the counts not yet sent to `multi`, a transaction that pushes a record: a record never reaches the coordinator before its attempts. */
  addTo(multi: ChainableCommander): void {
    const sending = this.#unsent;
    this.#unsent = zero();
    for (const field of FIELDS) if (sending[field] !== 0) multi.hincrby(countsKey(this.name), field, sending[field]);
  }
}

/** The coordinator's side: what the other processes did since the last look, as one event (or none). */
export class AttemptReader {
  #seen = zero();

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
  ) {}

  async look(): Promise<Extract<RunEvent, { type: 'remote-attempts' }> | undefined> {
    const stored = await this.redis.hgetall(countsKey(this.name));
    const now = zero();
    for (const field of FIELDS) now[field] = Number(stored[field] ?? 0);
    const event = {
      type: 'remote-attempts' as const,
      started: now.started - this.#seen.started,
      ended: now.ended - this.#seen.ended,
      refused: now.refused - this.#seen.refused,
      retries: now.retries - this.#seen.retries,
    };
    this.#seen = now;
    return FIELDS.some((field) => event[field] !== 0) ? event : undefined;
  }
}
