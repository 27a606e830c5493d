/**
 * Lanes: which limits a request is under. Requests to the same host that match the same
 * --limit rules share a lane; a lane has its own queue in the dispatcher, the buckets a start
 * takes a token from, and the concurrency caps it counts against. Every limit that applies
 * holds at once, so the strictest wins:
 *
 *   '*'                 --rps                              (the whole run)
 *   host:<authority>    --host-rps; pauses for the host
 *   rule:<i>:<authority> --limit rule i, for each host it matches; pauses for a route rule
 *   quota:<pause>       what the server's quota headers allow
 *   adaptive:<pause>    what the rate controller has found (rate/controller/)
 *
 * where <pause> is the bucket a "slow down" pauses: the first route rule the request matches,
 * else its host. So a 429 from /media pauses the media route and the rest of the host goes on.
 *
 * In a run shared through Redis (issue #25) the controllers are the coordinator's, one per lane
 * for every process (shared-controllers.ts): Lanes then only reports to them (a LaneReporter),
 * and the `adaptive:` bucket they pace is shared in Redis.
 */
import { type AnswerEvidence, type ExplainedChange, RateController } from './controller/rate-controller.js';
import { SheddingJudge } from './controller/shedding.js';
import { GLOBAL_BUCKET, hostBucket, type Limiter } from './limiter.js';
import { parseLimitRule, type LimitRule } from './limit-rules.js';
import { defaultBurst, type RunOptions } from '../options.js';

export interface Lane {
  /** Queue key: the authority and the rules it matched. */
  key: string;
  /** Host, or host and route rule, for messages: `api.example.com`, `api.example.com /media/*=30/min`. */
  label: string;
  /** The bucket a 429 or a used-up quota pauses. */
  pauseBucket: string;
  /** Every bucket a start takes a token from. */
  buckets: string[];
  /** `buckets` but the controller's own: those a pause the server asked for (or a backoff) holds. */
  serverBuckets: string[];
  /** Concurrency caps: in-flight counter key → most allowed. */
  caps: Array<{ key: string; max: number }>;
  /** The in-flight counters a start counts in: its caps and its pause bucket. */
  counters: string[];
  /** The fixed rates that bound this lane, strictest first: the controller never goes above. */
  ceilingRps: number;
}

export type LaneRateChange = ExplainedChange & { lane: string };

/** Where the lanes of a run shared through Redis send what their controller would have been told. */
export interface LaneReporter {
  /** The lane's controller would start at `first` (Infinity: standing aside). */
  opened(lane: Lane, first: { rps: number; burst: number }): void;
  started(lane: Lane, now: number): void;
  answered(lane: Lane, now: number, answer: AnswerEvidence): void;
  paused(lane: Lane, now: number, untilMs: number): void;
  quotaPaced(lane: Lane, now: number, rps: number | undefined): void;
}

/** The bucket of a lane's rate controller; its pauses are the controller's own, not the server's. */
export function adaptiveBucket(pauseBucket: string): string {
  return `adaptive:${pauseBucket}`;
}

/** When a request started, and when it most likely reached the server (which counts it then). */
export interface RequestTimes {
  startedAt: number;
  arrivedAt: number;
}

export class Lanes {
  readonly #options: RunOptions;
  readonly #limiter: Limiter;
  readonly #rules: LimitRule[];
  readonly #lanes = new Map<string, Lane>();
  /** With no --limit rules: the lane of each authority. */
  readonly #byAuthority = new Map<string, Lane>();
  readonly #inFlight = new Map<string, number>();
  readonly #controllers = new Map<string, RateController>();
  /** With a reporter, the controllers are elsewhere; whether a 503 is a refusal (a pause) is judged here. */
  readonly #reporter: LaneReporter | undefined;
  readonly #judges = new Map<string, SheddingJudge>();
  readonly #quotaPaced = new Set<string>();
  readonly #fixedRates = new Set<string>();

  readonly #now: () => number;
  /** Controllers whose starting rate (--rps auto) is set but not yet announced. */
  readonly #unannounced = new Set<string>();

  constructor(options: RunOptions, limiter: Limiter, now: () => number, reporter?: LaneReporter) {
    this.#options = options;
    this.#reporter = reporter;
    this.#limiter = limiter;
    this.#now = now;
    this.#rules = options.limits.map(parseLimitRule);
  }

  laneFor(url: URL): Lane {
    const authority = url.host;
    // Every input asks: with no --limit rules, the host alone says which lane, with no key to build.
    if (this.#rules.length === 0) return this.#byAuthority.get(authority) ?? this.#openForAuthority(authority);
    const matched: number[] = [];
    this.#rules.forEach((rule, index) => {
      if (rule.matches(url)) matched.push(index);
    });
    const key = `${authority}|${matched.join(',')}`;
    return this.#lanes.get(key) ?? this.#open(key, authority, matched);
  }

  #openForAuthority(authority: string): Lane {
    const key = `${authority}|`;
    const lane = this.#lanes.get(key) ?? this.#open(key, authority, []);
    this.#byAuthority.set(authority, lane);
    return lane;
  }

  #open(key: string, authority: string, matched: number[]): Lane {
    const { hostRps, hostConcurrency, rps } = this.#options;
    const host = hostBucket(authority);
    const route = matched.find((index) => this.#rules[index]!.isRoute);
    const pauseBucket = route === undefined ? host : `rule:${route}:${authority}`;
    const caps: Lane['caps'] = [];
    if (Number.isFinite(hostConcurrency)) caps.push({ key: host, max: hostConcurrency });
    const fixed: Array<[bucket: string, rps: number]> = [];
    if (Number.isFinite(hostRps)) fixed.push([host, hostRps]);
    for (const index of matched) {
      const rule = this.#rules[index]!;
      const bucket = `rule:${index}:${authority}`;
      fixed.push([bucket, rule.rps]);
      if (Number.isFinite(rule.concurrency)) caps.push({ key: bucket, max: rule.concurrency });
    }
    // Several lanes share a host or rule bucket: set its rate once, not back to full each time.
    for (const [bucket, bucketRps] of fixed) {
      if (this.#fixedRates.has(bucket)) continue;
      this.#fixedRates.add(bucket);
      this.#limiter.setRate(bucket, bucketRps, defaultBurst(bucketRps));
    }
    const counters = caps.map((cap) => cap.key);
    if (!counters.includes(pauseBucket)) counters.push(pauseBucket);
    const serverBuckets = [GLOBAL_BUCKET, host, ...matched.map((index) => `rule:${index}:${authority}`), `quota:${pauseBucket}`];
    const lane: Lane = {
      key,
      label: route === undefined ? authority : `${authority} ${this.#rules[route]!.text}`,
      pauseBucket,
      buckets: [...serverBuckets, adaptiveBucket(pauseBucket)],
      serverBuckets,
      caps,
      counters,
      ceilingRps: Math.min(rps, ...fixed.map(([, bucketRps]) => bucketRps)),
    };
    this.#lanes.set(key, lane);
    // The controller's rate holds from the lane's first request, not from its first answer:
    // otherwise --rps auto would open with a burst of --concurrency requests.
    if (this.#reporter !== undefined) {
      if (!this.#judges.has(pauseBucket)) {
        this.#judges.set(pauseBucket, new SheddingJudge());
        const first = new RateController({ auto: this.#options.autoRate, ceilingRps: lane.ceilingRps, now: this.#now() });
        this.#reporter.opened(lane, { rps: first.rps, burst: first.burst });
      }
    } else if (!this.#controllers.has(pauseBucket)) {
      const controller = new RateController({ auto: this.#options.autoRate, ceilingRps: lane.ceilingRps, now: this.#now() });
      this.#controllers.set(pauseBucket, controller);
      if (Number.isFinite(controller.rps)) {
        this.#setPace(pauseBucket, controller);
        this.#unannounced.add(pauseBucket);
      }
    }
    return lane;
  }

  byKey(key: string): Lane | undefined {
    return this.#lanes.get(key);
  }

  /** The lanes whose starts take from `bucket`: what a pause of it holds. */
  keysUsing(bucket: string): string[] {
    return [...this.#lanes.values()].filter((lane) => lane.buckets.includes(bucket)).map((lane) => lane.key);
  }

  /** Whether every concurrency cap of the lane has room for one more. */
  hasRoom(lane: Lane): boolean {
    for (const cap of lane.caps) if ((this.#inFlight.get(cap.key) ?? 0) >= cap.max) return false;
    return true;
  }

  /** Requests in flight that a "slow down" for this lane concerns. */
  inFlight(lane: Lane): number {
    return this.#inFlight.get(lane.pauseBucket) ?? 0;
  }

  /**
   * Whether something holds the lane to a rate: a fixed one (--rps, --host-rps, a --limit rule)
   * or its controller's. Under --redis the controller is the coordinator's; --rps auto always
   * has a rate there, and no --rps is taken to have none (the backoff stays).
   */
  isPaced(lane: Lane): boolean {
    if (Number.isFinite(lane.ceilingRps)) return true;
    if (this.#reporter !== undefined) return this.#options.autoRate;
    return Number.isFinite(this.#controllers.get(lane.pauseBucket)?.rps ?? Infinity);
  }

  /** A request of this lane went on the wire; returns a rate change the first time in auto mode. */
  started(lane: Lane, now: number): LaneRateChange | undefined {
    this.took(lane);
    return this.wentOut(lane, now);
  }

  /** A request of this lane took its slot: it counts in flight (the concurrency caps) from now. */
  took(lane: Lane): void {
    for (const key of lane.counters) this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
  }

  /** A request that took its slot goes on the wire now (after the shared limiter's word, under --redis). */
  wentOut(lane: Lane, now: number): LaneRateChange | undefined {
    if (this.#reporter !== undefined) {
      this.#reporter.started(lane, now);
      return undefined;
    }
    const controller = this.#controllers.get(lane.pauseBucket)!;
    const filled = controller.noteStart(now);
    if (filled !== undefined) {
      this.#setPace(lane.pauseBucket, controller);
      if (filled.holdUntil > now) this.#limiter.pause(adaptiveBucket(lane.pauseBucket), filled.holdUntil);
    }
    if (!this.#unannounced.delete(lane.pauseBucket)) return undefined;
    return { rps: controller.rps, reason: 'start', why: '--rps auto starts here', heldRps: undefined, lane: lane.label };
  }

  /**
   * Its answer came back. The controller reads it: whether the server refused it for the rate
   * (a 429, or a 503 it judges load shedding), and any change of rate that follows.
   */
  settled(lane: Lane, now: number, answer: AnswerEvidence): { isRefusal: boolean; change: LaneRateChange | undefined } {
    this.unstarted(lane);
    if (this.#reporter !== undefined) {
      this.#reporter.answered(lane, now, answer);
      // As the controller reads it: a 429 always; a 503 once the 503s prove load shedding.
      const verdict = answer.status === 429 ? undefined : this.#judges.get(lane.pauseBucket)!.judge(answer.status === 503, answer.startedAt, now);
      return { isRefusal: verdict === undefined || verdict.kind === 'refusal', change: undefined };
    }
    const reading = this.#controllers.get(lane.pauseBucket)!.noteAnswer(now, answer);
    return { isRefusal: reading.isRefusal, change: reading.change && this.#apply(lane, reading.change) };
  }

  /** A request of this lane that started is off the wire, or never went on it. */
  unstarted(lane: Lane): void {
    for (const key of lane.counters) this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
  }

  /** The lane is paused until `untilMs` (a Retry-After, a used-up quota, a backoff). */
  paused(lane: Lane, now: number, untilMs: number): void {
    if (this.#reporter !== undefined) return this.#reporter.paused(lane, now, untilMs);
    const controller = this.#controllers.get(lane.pauseBucket);
    if (controller === undefined) return;
    controller.notePause(now, untilMs);
    if (!Number.isFinite(controller.rps)) return;
    // It may resume faster for a while (a fill, see controller/clock-windows.ts), and with one start, like
    // the paused one: the catch-up credit it would save up meanwhile would send two requests
    // closer than the rate allows.
    this.#setPace(lane.pauseBucket, controller);
    this.#limiter.pause(adaptiveBucket(lane.pauseBucket), untilMs);
  }

  /**
   * The server's quota headers for this lane: a rate to hold (undefined = no cap from them).
   * They pace better than probing, so slow start steps aside for them.
   */
  paceByQuota(lane: Lane, rps: number | undefined, now: number): LaneRateChange | undefined {
    const bucket = `quota:${lane.pauseBucket}`;
    if (rps === undefined) {
      if (this.#quotaPaced.delete(bucket)) this.#limiter.setRate(bucket, Infinity);
    } else {
      this.#limiter.setRate(bucket, rps, 1);
      this.#quotaPaced.add(bucket);
    }
    if (this.#reporter !== undefined) {
      this.#reporter.quotaPaced(lane, now, rps);
      return undefined;
    }
    const change = this.#controllers.get(lane.pauseBucket)?.noteQuotaHeaders(now, rps);
    return change && this.#apply(lane, change);
  }

  #apply(lane: Lane, change: ExplainedChange): LaneRateChange {
    this.#setPace(lane.pauseBucket, this.#controllers.get(lane.pauseBucket)!);
    return { ...change, lane: lane.label };
  }

  #setPace(pauseBucket: string, controller: RateController): void {
    this.#limiter.setRate(adaptiveBucket(pauseBucket), controller.rps, controller.burst);
  }
}
