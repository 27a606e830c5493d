/**
 * Whether a lane's 503s are load shedding (a refusal: the server is over capacity, and going
 * slower helps) or noise (a fault: some 503s whatever the rate). Every 503 counts as a fault
 * until their share of the recent answers is high; then one trial cut tests it: if the share
 * falls to half or less at the lower rate, they were load shedding and from then on each 503 is
 * a refusal; if not, they were noise, the cut is undone, and 503s stay faults.
 */
export const SHEDDING = {
  /** Answers the share is taken over, before and after the trial cut. */
  sample: 40,
  /** A trial needs this share of 503s among the last `sample` answers … */
  trialShare: 0.25,
  /** … and falls to this share of it or less when the 503s were load shedding. */
  confirmShare: 0.5,
} as const;

export type SheddingVerdict =
  /** A fault: retry the request, leave the rate alone. */
  | { kind: 'fault' }
  /** A refusal: pause the lane, cut the rate. */
  | { kind: 'refusal'; trial: false }
  /** The trial: cut to what the server answered other than 503 (`1 − share503` of the rate sent). */
  | { kind: 'refusal'; trial: true; share503: number }
  /** The trial showed noise: put the rate back to what it was. */
  | { kind: 'undo'; why: string };

type State = { kind: 'watching' } | { kind: 'trial'; shareBefore: number; cutAt: number; after: boolean[] } | { kind: 'shedding' } | { kind: 'noise' };

export class SheddingJudge {
  #state: State = { kind: 'watching' };
  readonly #recent: boolean[] = [];

  get isShedding(): boolean {
    return this.#state.kind === 'shedding';
  }

  /** An answer that was not a 429, to a request started at `startedAt`, answered at `now`. */
  judge(is503: boolean, startedAt: number, now: number): SheddingVerdict {
    this.#recent.push(is503);
    if (this.#recent.length > SHEDDING.sample) this.#recent.shift();
    const state = this.#state;
    if (state.kind === 'shedding') return is503 ? { kind: 'refusal', trial: false } : { kind: 'fault' };
    if (state.kind === 'noise') return { kind: 'fault' };
    if (state.kind === 'trial') {
      if (startedAt >= state.cutAt) state.after.push(is503);
      if (state.after.length < SHEDDING.sample) return { kind: 'fault' };
      const shareAfter = share(state.after);
      if (shareAfter <= state.shareBefore * SHEDDING.confirmShare) {
        this.#state = { kind: 'shedding' };
        return is503 ? { kind: 'refusal', trial: false } : { kind: 'fault' };
      }
      this.#state = { kind: 'noise' };
      const why = `undone: 503s were ${percent(state.shareBefore)} of answers before the cut and ${percent(shareAfter)} after, noise, not load shedding`;
      return { kind: 'undo', why };
    }
    if (!is503 || this.#recent.length < SHEDDING.sample) return { kind: 'fault' };
    const shareNow = share(this.#recent);
    if (shareNow < SHEDDING.trialShare) return { kind: 'fault' };
    this.#state = { kind: 'trial', shareBefore: shareNow, cutAt: now, after: [] };
    return { kind: 'refusal', trial: true, share503: shareNow };
  }
}

function share(answers: readonly boolean[]): number {
  return answers.filter(Boolean).length / Math.max(1, answers.length);
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
