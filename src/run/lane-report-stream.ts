/**
 * The lane reports of one process of a run shared through Redis (issue #25), on their way to
 * the coordinator's rate controllers: a Redis stream per run, one entry per batch, flushed every
 * FLUSH_MS. Times are this process's clock mapped onto Redis's (rate/server-clock.ts), mapped
 * at the flush with the best offset known then.
 *
 * The first process to open a lane claims it: it writes what the coordinator needs to make the
 * lane's controller (its label and ceiling), and the rate that controller starts at to the
 * lane's shared `adaptive:` bucket, in one script, so no process's first start of a lane goes
 * before a rate holds (--rps auto would open with a burst of --concurrency). A lane's starts
 * wait for its claim (`ready`).
 *
 * The stream holds what its one reader, the coordinator, has not read yet: it trims what it
 * read (rate-keeper.ts). While no coordinator reads (it died, and a resumed one reads from the
 * end), REPORT_STREAM_MAXLEN caps it (XADD MAXLEN ~). A coordinator alive but that far behind
 * (tens of seconds of every process's batches) misses the oldest: its controllers get a
 * sample fewer, never a wrong one.
 */
import type { Redis } from 'ioredis';
import type { AnswerEvidence } from '../rate/controller/rate-controller.js';
import type { Lane, LaneReporter } from '../rate/lanes.js';
import { encodeReports, type LaneInfo, type LaneReport } from '../rate/lane-reports.js';
import type { Clock } from '../rate/limiter.js';
import { ServerClock } from '../rate/server-clock.js';
import { adaptiveBucket } from '../rate/lanes.js';

/**
 * A batch every 25 ms per process: 2,000 is about 50 s of one process's, 17 s of three's. At
 * 1,000 requests a second a batch is some 3 KB, so the cap is some 6 MB of Redis at the most.
 */
export const REPORT_STREAM_MAXLEN = 2_000;
const FLUSH_MS = 25;

type Script = (...args: Array<string | number>) => Promise<unknown>;

export const reportStreamKey = (run: string) => `ratefetch:{${run}}:lane-reports`;
export const laneInfoKey = (run: string) => `ratefetch:{${run}}:lanes`;
const rateKey = (run: string, bucket: string) => `ratefetch:{${run}}:rate:${bucket}`;
const settingsKey = (run: string) => `ratefetch:{${run}}:settings`;

// KEYS: the run's settings, the stream. ARGV: the cap, the batch. A run that ended whole has
// removed itself from Redis: its workers' last reports must not bring a stream back.
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'r', ARGV[2])
return 1
`;

// KEYS: the lanes hash, the lane's adaptive rate hash. ARGV: the lane, its info as JSON, the
// starting rate ('' for none) and burst.
const CLAIM = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 and ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], 'rps', ARGV[3], 'burst', ARGV[4])
end
return 0
`;

export class StreamLaneReporter implements LaneReporter {
  /** This process's clock on Redis's: the shared gate's TAKE replies keep it (shared-gate.ts). */
  readonly serverClock = new ServerClock();
  readonly #redis: Redis;
  readonly #run: string;
  readonly #clock: Clock;
  readonly #claims = new Map<string, Promise<void>>();
  #pending: LaneReport[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;

  readonly #claim: Script;
  readonly #report: Script;

  constructor(redis: Redis, run: string, clock: Clock) {
    this.#redis = redis;
    this.#run = run;
    this.#clock = clock;
    // Defined once: each call then sends the script's hash, not its text (EVALSHA).
    redis.defineCommand('ratefetchClaimLane', { lua: CLAIM, numberOfKeys: 2 });
    redis.defineCommand('ratefetchReportLanes', { lua: ADD, numberOfKeys: 2 });
    const commands = redis as unknown as Record<'ratefetchClaimLane' | 'ratefetchReportLanes', Script>;
    this.#claim = commands.ratefetchClaimLane.bind(redis);
    this.#report = commands.ratefetchReportLanes.bind(redis);
  }

  /** A report that did not reach Redis: the run must not go on alone (shared-gate.ts fails the next start). */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /** Resolves once the lane of this pause bucket is claimed, so its first start finds a rate. */
  ready(pauseBucket: string): Promise<void> {
    return this.#claims.get(pauseBucket) ?? Promise.resolve();
  }

  opened(lane: Lane, first: { rps: number; burst: number }): void {
    if (this.#claims.has(lane.pauseBucket)) return;
    const info: LaneInfo = { label: lane.label, ceilingRps: Number.isFinite(lane.ceilingRps) ? lane.ceilingRps : null };
    const rps = Number.isFinite(first.rps) ? String(first.rps) : '';
    const claim = this.#claim(
      laneInfoKey(this.#run),
      rateKey(this.#run, adaptiveBucket(lane.pauseBucket)),
      lane.pauseBucket,
      JSON.stringify(info),
      rps,
      first.burst,
    ).then(() => undefined);
    claim.catch((error: unknown) => this.#fail(error));
    this.#claims.set(
      lane.pauseBucket,
      claim.catch(() => undefined),
    );
  }

  started(lane: Lane, now: number): void {
    this.#add({ kind: 'start', lane: lane.pauseBucket, at: now });
  }

  answered(lane: Lane, now: number, answer: AnswerEvidence): void {
    this.#add({ kind: 'answer', lane: lane.pauseBucket, at: now, ...answer });
  }

  paused(lane: Lane, now: number, untilMs: number): void {
    this.#add({ kind: 'pause', lane: lane.pauseBucket, at: now, untilMs });
  }

  quotaPaced(lane: Lane, now: number, rps: number | undefined): void {
    this.#add({ kind: 'quota', lane: lane.pauseBucket, at: now, rps });
  }

  /** Sends what is left; resolves when the last batch is in Redis (or failed). */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flush();
  }

  #add(report: LaneReport): void {
    this.#pending.push(report);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, FLUSH_MS);
  }

  /** One batch at a time, in order: a process's reports reach the stream as it made them. */
  #flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.length === 0 || this.#failure !== undefined) return;
      const batch = this.#pending;
      this.#pending = [];
      try {
        await Promise.all(this.#claims.values());
        if (!this.serverClock.isKnown) await this.#learnClock();
        const text = encodeReports(batch.map((report) => this.#onServerClock(report)));
        await this.#report(settingsKey(this.#run), reportStreamKey(this.#run), REPORT_STREAM_MAXLEN, text);
      } catch (error) {
        this.#fail(error);
      }
    });
    return this.#flushing;
  }

  async #learnClock(): Promise<void> {
    const sentAt = this.#clock.now();
    const [seconds, micros] = await this.#redis.time();
    this.serverClock.note(sentAt, Number(seconds) * 1000 + Number(micros) / 1000, this.#clock.now());
  }

  #onServerClock(report: LaneReport): LaneReport {
    const server = (local: number) => this.serverClock.toServer(local);
    const moved = { ...report, at: server(report.at) };
    if (moved.kind === 'answer') return { ...moved, startedAt: server(moved.startedAt), arrivedAt: server(moved.arrivedAt) };
    if (moved.kind === 'pause') return { ...moved, untilMs: server(moved.untilMs) };
    return moved;
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
  }
}
