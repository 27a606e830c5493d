/**
 * What clean answers do to the rate: a pure function of the finder's state and how the rate
 * has been used since it last changed.
 */
import type { RateChangeReason } from '../../events.js';
import { ADAPTIVE } from './tuning.js';

export interface ClimbState {
  rps: number;
  ceiling: number;
  slowStart: boolean;
  plateau: number;
  /** How long the rate rests at the plateau before probing past it. */
  restMs: number;
  /** The factor of the next probe step. */
  probeFactor: number;
}

export interface Climb {
  rps: number;
  reason: RateChangeReason;
  plateau: number;
  probeFactor: number;
}

/**
 * Whether the rate was used since it changed `elapsedMs` ago, with `answers` answers since: a
 * rate nobody uses says nothing of the limit, so it does not climb.
 */
export function wasUsed(rps: number, elapsedMs: number, answers: number): boolean {
  return answers >= Math.max(ADAPTIVE.minAnswersToClimb, (rps * elapsedMs) / 2000);
}

/**
 * The next step up, or undefined to stay:
 * - slow start doubles every slowStartStepMs;
 * - under the plateau, half the gap to it (at least +5% a climbStepMs): fast when far below,
 *   gentle near it;
 * - at the plateau, after restMs, the first probe past it (probeFactor: +5%, or doubling after
 *   slow start's burst): the limit may have risen;
 * - past the plateau, each clean step goes further (+5%, +10%, +20% … up to doubling), so a rate
 *   far under the limit is left in seconds, and one near it still costs a single refusal.
 */
export function decideClimb(state: ClimbState, elapsedMs: number, answers: number): Climb | undefined {
  const { rps, ceiling, plateau, probeFactor } = state;
  const stepMs = state.slowStart ? ADAPTIVE.slowStartStepMs : ADAPTIVE.climbStepMs;
  if (elapsedMs < stepMs || !wasUsed(rps, elapsedMs, answers) || rps >= ceiling) return undefined;
  const bounded = (next: number) => Math.min(ceiling, next);
  if (state.slowStart) return { rps: bounded(rps * 2), reason: 'clean', plateau, probeFactor };
  if (Number.isFinite(plateau) && rps < plateau) {
    const next = Math.min(plateau, Math.max(rps * ADAPTIVE.climbFactor, rps + (plateau - rps) / 2));
    return { rps: bounded(next), reason: 'clean', plateau, probeFactor };
  }
  if (Number.isFinite(plateau)) {
    if (elapsedMs < state.restMs) return undefined;
    return { rps: bounded(rps * probeFactor), reason: 'probe', plateau: Infinity, probeFactor };
  }
  return { rps: bounded(rps * probeFactor), reason: 'probe', plateau, probeFactor: Math.min(2, 1 + 2 * (probeFactor - 1)) };
}

/**
 * Whether the controller steps aside (to no rate of its own) for quota headers, which pace the
 * lane better than probing: slow start does at once, and so does a rate a refusal left under the
 * one the headers give (drawn by a burst sent before any headers came back).
 */
export function standsAsideForQuota(state: Pick<ClimbState, 'rps' | 'ceiling' | 'slowStart'>, quotaRps: number | undefined): boolean {
  return state.slowStart || (quotaRps !== undefined && state.rps < Math.min(quotaRps, state.ceiling));
}
