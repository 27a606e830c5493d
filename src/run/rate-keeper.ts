/**
 * The coordinator's side of the rate controllers shared through Redis (issue #25): one reader
 * of the run's lane-report stream (lane-report-stream.ts), blocking on XREAD, that feeds every
 * report to the lane's one controller (rate/shared-controllers.ts) in time order, writes each
 * rate and hold to the lane's shared `adaptive:` bucket, and announces each change as a
 * one-machine run does, so the summary's "rate found", --stats-file and --verbose tell them.
 *
 * It reads from the stream's end as it opens: a resumed coordinator starts its controllers
 * afresh (from slow start under --rps auto), and the reports its dead predecessor never read
 * are left alone. If Redis fails, `failure` says so and the coordinator stops the run.
 */
import type { Redis } from 'ioredis';
import type { RunEvent } from '../events.js';
import { adaptiveBucket } from '../rate/lanes.js';
import { decodeReports, ReorderBuffer, type LaneInfo, type LaneReport } from '../rate/lane-reports.js';
import { systemClock } from '../rate/limiter.js';
import { ServerClock } from '../rate/server-clock.js';
import { SharedControllers, type RateAction } from '../rate/shared-controllers.js';
import type { RedisLimiter } from '../rate/shared-limiter.js';
import { laneInfoKey, reportStreamKey } from './lane-report-stream.js';

/**
 * How long reports wait to be put in time order: the processes flush every 25 ms, and a busy
 * event loop or network adds some. A later report is fed as it comes.
 */
const REORDER_MS = 150;
const BLOCK_MS = 50;

export interface RateKeeper {
  /** Set when Redis failed: the run must not go on with rates no one keeps. */
  readonly failure: { error: unknown } | undefined;
  /** Feeds what is left in the stream, then stops reading. */
  close(): Promise<void>;
}

export async function startRateKeeper(
  redis: Redis,
  limiter: RedisLimiter,
  run: string,
  settings: { auto: boolean; emit: (event: RunEvent) => void },
): Promise<RateKeeper> {
  const stream = reportStreamKey(run);
  const reader = redis.duplicate(); // XREAD BLOCK holds its connection
  reader.on('error', () => undefined); // a failed read says it: `failure`
  const clock = new ServerClock();
  const controllers = new SharedControllers(settings.auto);
  const buffer = new ReorderBuffer(REORDER_MS);
  const written = new Map<string, string>();
  let failure: { error: unknown } | undefined;
  let stopping = false;

  const sentAt = systemClock.now();
  const [seconds, micros] = await redis.time();
  clock.note(sentAt, Number(seconds) * 1000 + Number(micros) / 1000, systemClock.now());
  const last = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
  let lastId = last[0]?.[0] ?? '0-0';

  /** Reads what came since the last read (waiting up to `blockMs` for something); returns how many entries. */
  const read = async (blockMs: number | undefined) => {
    type Replies = Array<[string, Array<[string, string[]]>]> | null;
    const replies = (
      blockMs === undefined
        ? await reader.xread('COUNT', 1000, 'STREAMS', stream, lastId)
        : await reader.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', stream, lastId)
    ) as Replies;
    let count = 0;
    for (const [, entries] of replies ?? []) {
      for (const [id, fields] of entries) {
        lastId = id;
        count += 1;
        buffer.add(decodeReports(fields[1] ?? ''));
      }
    }
    // What is read is not read again: the stream keeps only what is on its way.
    if (count > 0) await redis.xtrim(stream, 'MINID', idAfter(lastId));
    return count;
  };

  const act = (action: RateAction, at: number, writes: Array<Promise<unknown>>) => {
    const bucket = adaptiveBucket(action.lane);
    if (action.rate !== undefined) {
      const said = `${action.rate.rps}/${action.rate.burst}`;
      if (written.get(action.lane) !== said) {
        written.set(action.lane, said);
        writes.push(limiter.setRate(bucket, action.rate.rps, action.rate.burst));
      }
    }
    // Told as of the report's time, so the hold ends when the controller said, on Redis's clock.
    if (action.holdUntil !== undefined) writes.push(limiter.pause(bucket, action.holdUntil - at, at));
    const change = action.change;
    if (change !== undefined) {
      settings.emit({ type: 'rate', lane: change.lane, rps: change.rps, reason: change.reason, why: change.why, heldRps: change.heldRps });
    }
  };

  const feed = async (reports: LaneReport[]) => {
    const writes: Array<Promise<unknown>> = [];
    for (const report of reports) {
      if (!controllers.has(report.lane)) {
        const info = await redis.hget(laneInfoKey(run), report.lane);
        if (info === null) continue; // not a lane of this run's processes
        act(controllers.open(report.lane, JSON.parse(info) as LaneInfo, report.at), report.at, writes);
      }
      const action = controllers.feed(report);
      if (action !== undefined) act(action, report.at, writes);
    }
    await Promise.all(writes);
  };

  const loop = (async () => {
    try {
      while (!stopping) {
        await read(BLOCK_MS);
        await feed(buffer.release(clock.toServer(systemClock.now())));
      }
      while ((await read(undefined)) > 0);
      await feed(buffer.release(Infinity, true));
    } catch (error) {
      failure ??= { error };
    }
  })();

  return {
    get failure() {
      return failure;
    },
    async close() {
      stopping = true;
      await loop;
      // Not disconnect(): its 2 s fallback timer would keep the process alive that long.
      await reader.quit().catch(() => undefined);
    },
  };
}

/** The stream id just after `id` (`ms-seq`): MINID keeps the id it is given. */
function idAfter(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}
