/**
 * After a drop, the old limit may come back (a server under load that recovers, a quota tier
 * restored). A cut to under DROP_SHARE of the highest rate that held clean for heldCleanMs is
 * such a drop: the rate then rests briefly (shortRestMs) and probes straight back to the rate
 * that held, and each probe back doubles the rest before the next, up to the usual one
 * (probeAfterMs). A server whose limit stays down costs one refusal a probe, a handful in all.
 */
import { wasUsed } from './climb.js';
import { ADAPTIVE } from './tuning.js';

/** A cut under this share of a rate that held is a drop, not a rate a little over the limit. */
export const DROP_SHARE = 0.75;

export interface Recovery {
  /** The rate that held before the drop. */
  formerRps: number;
  /** The rest before the next probe back. */
  restMs: number;
}

/**
 * The recovery after a cut to `rps` (`heldRps`: the highest rate that held clean), or undefined
 * when there is none to make: not under a rate that held, or back at it.
 */
export function decideRecovery(recovery: Recovery | undefined, rps: number, heldRps: number): Recovery | undefined {
  if (recovery === undefined) return rps < heldRps * DROP_SHARE ? { formerRps: heldRps, restMs: ADAPTIVE.firstProbeBackMs } : undefined;
  return rps >= recovery.formerRps * DROP_SHARE ? undefined : recovery;
}

/** A probe back went out: the rest before the next one, should this one be refused, is twice as long. */
export function probedBack(recovery: Recovery): Recovery {
  return { ...recovery, restMs: Math.min(ADAPTIVE.probeAfterMs, recovery.restMs * 2) };
}

/** The factor of the next probe step: straight back to the former rate while recovering. */
export function probeBackFactor(recovery: Recovery | undefined, rps: number, probeFactor: number): number {
  return recovery === undefined ? probeFactor : Math.max(probeFactor, recovery.formerRps / rps);
}

/** One lane's recovery, for the limit finder: the state the functions above decide on. */
export class RecoveryProbes {
  #heldRps = 0;
  #recovery: Recovery | undefined;

  /** A clean answer at `rps`, `elapsedMs` and `answers` after it was set. */
  noteClean(rps: number, slowStart: boolean, elapsedMs: number, answers: number): void {
    if (!slowStart && elapsedMs >= ADAPTIVE.heldCleanMs && wasUsed(rps, elapsedMs, answers)) this.#heldRps = Math.max(this.#heldRps, rps);
  }

  /** A cut to `rps`: the rest before probing back, or undefined (no drop: the cut's own). */
  restAfterCut(rps: number): number | undefined {
    this.#recovery = decideRecovery(this.#recovery, rps, this.#heldRps);
    return this.#recovery?.restMs;
  }

  probeFactor(rps: number, probeFactor: number): number {
    return probeBackFactor(this.#recovery, rps, probeFactor);
  }

  /**
   * A probe step to `rps` went out. A probe back rests there, as at a plateau, shortRestMs,
   * then probes past it in small steps: the rate that held may have been under the limit.
   */
  probed(rps: number): { plateau: number; probeFactor: number; restMs: number } | undefined {
    if (this.#recovery === undefined) return undefined;
    this.#recovery = probedBack(this.#recovery);
    return { plateau: rps, probeFactor: ADAPTIVE.climbFactor, restMs: ADAPTIVE.shortRestMs };
  }
}
