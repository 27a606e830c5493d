/**
 * The rate controllers of a run shared through Redis (issue #25), kept by its coordinator: one
 * per lane for every process together, fed the lane reports of all of them (lane-reports.ts)
 * in time order. Each report is the call a one-machine run's Lanes makes on its own controller
 * (lanes.ts), and each gives back what to do about it: the lane's shared `adaptive:` bucket's
 * rate, a hold on it, and a change to announce. Pure: the coordinator's rate keeper
 * (run/rate-keeper.ts) writes the rates and holds to Redis and emits the changes.
 */
import { RateController } from './controller/rate-controller.js';
import type { LaneRateChange } from './lanes.js';
import type { LaneInfo, LaneReport } from './lane-reports.js';

export interface RateAction {
  /** The lane's pause bucket. */
  lane: string;
  /** The rate the lane's shared bucket is to have now (Infinity: none). */
  rate?: { rps: number; burst: number };
  /** The lane's shared bucket holds until then (server time). */
  holdUntil?: number;
  /** A change of rate to announce, as a one-machine run does. */
  change?: LaneRateChange;
}

interface Kept {
  controller: RateController;
  label: string;
  /** The starting rate (--rps auto) is set but not yet announced. */
  unannounced: boolean;
}

export class SharedControllers {
  readonly #auto: boolean;
  readonly #lanes = new Map<string, Kept>();

  constructor(auto: boolean) {
    this.#auto = auto;
  }

  has(lane: string): boolean {
    return this.#lanes.has(lane);
  }

  /** Opens the lane's controller at server time `at`; the rate it starts at goes to Redis at once. */
  open(lane: string, info: LaneInfo, at: number): RateAction {
    const controller = new RateController({ auto: this.#auto, ceilingRps: info.ceilingRps ?? Infinity, now: at });
    const unannounced = Number.isFinite(controller.rps);
    this.#lanes.set(lane, { controller, label: info.label, unannounced });
    return { lane, rate: rateOf(controller) };
  }

  /** One report, of a lane opened before; undefined when nothing is to be done. */
  feed(report: LaneReport): RateAction | undefined {
    const kept = this.#lanes.get(report.lane);
    if (kept === undefined) return undefined;
    const { controller } = kept;
    const action: RateAction = { lane: report.lane };
    switch (report.kind) {
      case 'start': {
        const filled = controller.noteStart(report.at);
        if (filled !== undefined) {
          action.rate = rateOf(controller);
          if (filled.holdUntil > report.at) action.holdUntil = filled.holdUntil;
        }
        if (kept.unannounced) {
          kept.unannounced = false;
          action.change = { rps: controller.rps, reason: 'start', why: '--rps auto starts here', heldRps: undefined, lane: kept.label };
        }
        break;
      }
      case 'answer': {
        const { kind: _kind, lane: _lane, at, ...answer } = report;
        const change = controller.noteAnswer(at, answer).change;
        if (change !== undefined) {
          action.rate = rateOf(controller);
          action.change = { ...change, lane: kept.label };
        }
        break;
      }
      case 'pause':
        controller.notePause(report.at, report.untilMs);
        // As lanes.ts: it may resume faster for a while, and with one start, like the paused one.
        if (Number.isFinite(controller.rps)) {
          action.rate = rateOf(controller);
          action.holdUntil = report.untilMs;
        }
        break;
      case 'quota': {
        const change = controller.noteQuotaHeaders(report.at, report.rps);
        if (change !== undefined) {
          action.rate = rateOf(controller);
          action.change = { ...change, lane: kept.label };
        }
        break;
      }
    }
    return action.rate === undefined && action.change === undefined ? undefined : action;
  }
}

function rateOf(controller: RateController): { rps: number; burst: number } {
  return { rps: controller.rps, burst: controller.burst };
}
