/**
 * This process's clock mapped onto the Redis server's (issue #25): a run shared through Redis
 * reports the times of its starts and answers to the coordinator's rate controllers on one
 * clock, Redis's, since the processes' clocks need not agree. Each reply that carries Redis's
 * time (a TAKE, a TIME) is one sample: the server read its clock somewhere between the ask
 * and the reply, so taking the midpoint errs by at most half the round trip. The sample with
 * the quickest round trip of the recent ones is the best; its half round trip (well under a
 * millisecond on loopback, a few on a LAN) bounds the error, and clock drift over the few
 * seconds the recent samples span adds nothing that counts.
 */
const SAMPLES = 16;

export class ServerClock {
  readonly #samples: Array<{ roundTripMs: number; offsetMs: number }> = [];
  #best: { roundTripMs: number; offsetMs: number } | undefined;

  /** A reply asked for at `sentAt` and read at `receivedAt` (this process's clock) said the server's time was `serverMs`. */
  note(sentAt: number, serverMs: number, receivedAt: number): void {
    const sample = { roundTripMs: Math.max(0, receivedAt - sentAt), offsetMs: serverMs - (sentAt + receivedAt) / 2 };
    this.#samples.push(sample);
    if (this.#samples.length > SAMPLES) this.#samples.shift();
    this.#best = this.#samples.reduce((best, each) => (each.roundTripMs <= best.roundTripMs ? each : best));
  }

  get isKnown(): boolean {
    return this.#best !== undefined;
  }

  /** The most the mapping can be off by, in ms (half the best round trip); Infinity before any sample. */
  get errorBoundMs(): number {
    return this.#best === undefined ? Infinity : this.#best.roundTripMs / 2;
  }

  /** A time on this process's clock as the server's clock read it. */
  toServer(localMs: number): number {
    if (this.#best === undefined) throw new Error('ServerClock.toServer before any sample');
    return localMs + this.#best.offsetMs;
  }

  /** A time on the server's clock as this process's clock reads it. */
  toLocal(serverMs: number): number {
    if (this.#best === undefined) throw new Error('ServerClock.toLocal before any sample');
    return serverMs - this.#best.offsetMs;
  }
}
