// Issue #25: the pure parts of one rate controller per lane shared by every process of a run:
// this process's clock mapped onto Redis's, the reports as they travel, put back in time order,
// and fed to the coordinator's controllers, which decide as a one-machine run's do. Virtual time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../../src/options.ts';
import { decodeReports, encodeReports, ReorderBuffer, type LaneReport } from '../../src/rate/lane-reports.ts';
import { Lanes, type Lane, type LaneRateChange, type LaneReporter } from '../../src/rate/lanes.ts';
import type { Limiter } from '../../src/rate/limiter.ts';
import { ServerClock } from '../../src/rate/server-clock.ts';
import { SharedControllers } from '../../src/rate/shared-controllers.ts';

describe('#25: this process clock on Redis clock', () => {
  test('#25: the quickest round trip of the recent replies sets the offset, off by at most half of it', () => {
    const clock = new ServerClock();
    assert.equal(clock.isKnown, false);
    assert.equal(clock.errorBoundMs, Infinity);
    // Redis's clock is 5,000 ms ahead. A slow reply (20 ms) read the server at its very start;
    // a quick one (2 ms) somewhere in its middle.
    clock.note(1_000, 6_000, 1_020);
    assert.equal(clock.toServer(2_000), 6_990);
    clock.note(1_100, 6_101.5, 1_102);
    assert.equal(clock.errorBoundMs, 1);
    assert.equal(clock.toServer(2_000), 7_000.5);
    assert.equal(clock.toLocal(clock.toServer(2_000)), 2_000);
    // A slower reply later does not replace the better one.
    clock.note(1_200, 6_240, 1_240);
    assert.equal(clock.toServer(2_000), 7_000.5);
  });

  test('#25: the best sample is of the last 16: an old one ages out', () => {
    const clock = new ServerClock();
    clock.note(0, 100, 0); // 0 ms round trip, offset 100
    for (let i = 1; i <= 16; i++) clock.note(i * 10, i * 10 + 205, i * 10 + 10); // 10 ms, offset 200
    assert.equal(clock.toServer(0), 200);
  });
});

describe('#25: lane reports on their way', () => {
  const reports: LaneReport[] = [
    { kind: 'start', lane: 'host:a', at: 1.5 },
    { kind: 'answer', lane: 'host:a', at: 9, startedAt: 1.5, arrivedAt: 3, status: 429, retryAfterMs: 1_000 },
    { kind: 'answer', lane: 'host:a', at: 10, startedAt: 2, arrivedAt: 2, status: null, failure: 'TIMEOUT', retryAfterMs: undefined },
    { kind: 'pause', lane: 'rule:0:a', at: 11, untilMs: 1_011 },
    { kind: 'quota', lane: 'host:a', at: 12, rps: 4.5 },
    { kind: 'quota', lane: 'host:a', at: 13, rps: undefined },
  ];

  test('#25: each kind of report comes out of the stream as it went in', () => {
    assert.deepEqual(decodeReports(encodeReports(reports)), reports);
  });

  test('#25: an entry that is not a batch of reports gives none', () => {
    for (const text of ['', 'not json', '{}', '[["x","a",1]]', '[[1,2,3]]']) assert.deepEqual(decodeReports(text), [], text);
  });

  test('#25: reports wait 150 ms of server time, then come in time order; equal times keep their order', () => {
    const buffer = new ReorderBuffer(150);
    const start = (lane: string, at: number): LaneReport => ({ kind: 'start', lane, at });
    // Process b flushed its batch first, though a's reports are older.
    buffer.add([start('b', 120), start('b', 200)]);
    buffer.add([start('a', 100), start('a', 120), start('a', 300)]);
    assert.deepEqual(buffer.release(240), []);
    assert.deepEqual(buffer.release(350), [start('a', 100), start('b', 120), start('a', 120), start('b', 200)]);
    assert.equal(buffer.size, 1);
    // A report later than the hold comes at once, out of order.
    buffer.add([start('b', 150)]);
    assert.deepEqual(buffer.release(360), [start('b', 150)]);
    assert.deepEqual(buffer.release(0, true), [start('a', 300)]);
  });
});

/** Records what the lanes tell a reporter, as the stream would carry it. */
class RecordingReporter implements LaneReporter {
  readonly reports: LaneReport[] = [];
  readonly opened_: Array<{ lane: string; label: string; rps: number }> = [];
  opened(lane: Lane, first: { rps: number }): void {
    this.opened_.push({ lane: lane.pauseBucket, label: lane.label, rps: first.rps });
  }
  started(lane: Lane, now: number): void {
    this.reports.push({ kind: 'start', lane: lane.pauseBucket, at: now });
  }
  answered(lane: Lane, now: number, answer: Omit<Extract<LaneReport, { kind: 'answer' }>, 'kind' | 'lane' | 'at'>): void {
    this.reports.push({ kind: 'answer', lane: lane.pauseBucket, at: now, ...answer });
  }
  paused(lane: Lane, now: number, untilMs: number): void {
    this.reports.push({ kind: 'pause', lane: lane.pauseBucket, at: now, untilMs });
  }
  quotaPaced(lane: Lane, now: number, rps: number | undefined): void {
    this.reports.push({ kind: 'quota', lane: lane.pauseBucket, at: now, rps });
  }
}

/** The rates a lane's adaptive bucket is given, and its holds. */
class RecordingLimiter implements Limiter {
  readonly rates: Array<{ bucket: string; rps: number }> = [];
  readonly holds: Array<{ bucket: string; untilMs: number }> = [];
  tryTake() {
    return { ok: true } as const;
  }
  pausedUntil() {
    return 0;
  }
  setRate(bucket: string, rps: number) {
    this.rates.push({ bucket, rps });
  }
  pause(bucket: string, untilMs: number) {
    this.holds.push({ bucket, untilMs });
  }
}

/**
 * One lane sending 40 a second for 4 s at a server that takes 20 a second (a token bucket of
 * one), each answer 10 ms after its start, each 429 pausing the lane for its Retry-After of 1 s.
 * The same calls go to `lanes` whatever it does with them.
 */
function drive(lanes: Lanes, onChange: (change: LaneRateChange) => void): void {
  const lane = lanes.laneFor(new URL('http://api.test/items/1'));
  let tokens = 1;
  let last = 0;
  let pausedUntil = 0;
  for (let at = 0; at < 4_000; at += 25) {
    if (at < pausedUntil) continue;
    const change = lanes.started(lane, at);
    if (change !== undefined) onChange(change);
    tokens = Math.min(1, tokens + ((at - last) * 20) / 1_000);
    last = at;
    const admitted = tokens >= 1;
    if (admitted) tokens -= 1;
    const answer = { startedAt: at, arrivedAt: at + 5, status: admitted ? 200 : 429, retryAfterMs: admitted ? undefined : 1_000 };
    const reading = lanes.settled(lane, at + 10, answer);
    if (reading.change !== undefined) onChange(reading.change);
    if (reading.isRefusal) {
      pausedUntil = at + 10 + 1_000;
      lanes.paused(lane, at + 10, pausedUntil);
    }
  }
}

describe("#25: the coordinator's controllers decide as a one-machine run's", () => {
  for (const autoRate of [true, false]) {
    test(`#25: ${autoRate ? '--rps auto' : 'no --rps'}: the same calls, reported and fed in order, give the same changes, rates and holds`, () => {
      const options = resolveOptions({ autoRate });
      const localLimiter = new RecordingLimiter();
      const localChanges: LaneRateChange[] = [];
      drive(new Lanes(options, localLimiter, () => 0), (change) => localChanges.push(change));

      const reporter = new RecordingReporter();
      const reportingLimiter = new RecordingLimiter();
      drive(new Lanes(options, reportingLimiter, () => 0, reporter), () => assert.fail('a reporting lane announces no change itself'));
      assert.deepEqual(reportingLimiter.rates, [], 'a reporting lane sets no rate of its own');
      assert.deepEqual(reporter.opened_, [{ lane: 'host:api.test', label: 'api.test', rps: autoRate ? localLimiter.rates[0]!.rps : Infinity }]);

      const controllers = new SharedControllers(autoRate);
      const sharedRates: Array<{ bucket: string; rps: number }> = [];
      const sharedHolds: Array<{ bucket: string; untilMs: number }> = [];
      const sharedChanges: LaneRateChange[] = [];
      const opening = controllers.open('host:api.test', { label: 'api.test', ceilingRps: null }, 0);
      if (Number.isFinite(opening.rate!.rps)) sharedRates.push({ bucket: 'adaptive:host:api.test', rps: opening.rate!.rps });
      // As if two processes took turns at the requests (each request's start, answer and pause
      // told by the one that sent it), the second's batch reaching the stream first.
      const processes: LaneReport[][] = [[], []];
      let turn = 0;
      for (const report of reporter.reports) {
        if (report.kind === 'start') turn = 1 - turn;
        processes[turn]!.push(report);
      }
      const buffer = new ReorderBuffer(150);
      buffer.add(processes[1]!);
      buffer.add(processes[0]!);
      for (const report of buffer.release(0, true)) {
        const action = controllers.feed(report);
        if (action?.rate !== undefined) sharedRates.push({ bucket: `adaptive:${action.lane}`, rps: action.rate.rps });
        if (action?.holdUntil !== undefined) sharedHolds.push({ bucket: `adaptive:${action.lane}`, untilMs: action.holdUntil });
        if (action?.change !== undefined) sharedChanges.push(action.change);
      }
      assert.ok(
        localChanges.some((change) => change.reason !== 'start'),
        'the run changed its rate',
      );
      assert.deepEqual(sharedChanges, localChanges);
      assert.deepEqual(sharedHolds, localLimiter.holds);
      const dedupe = (rates: Array<{ rps: number }>) => rates.map((r) => r.rps).filter((rps, i, all) => i === 0 || all[i - 1] !== rps);
      assert.deepEqual(dedupe(sharedRates), dedupe(localLimiter.rates));
    });
  }

  test('#25: under --redis a request counts in flight when it takes its slot, and its start is told when it goes out, after the shared wait', () => {
    const reporter = new RecordingReporter();
    const lanes = new Lanes(resolveOptions({ autoRate: true, hostConcurrency: 1 }), new RecordingLimiter(), () => 0, reporter);
    const lane = lanes.laneFor(new URL('http://api.test/items/1'));
    lanes.took(lane);
    assert.equal(lanes.hasRoom(lane), false, 'the host cap counts it while it waits for Redis');
    assert.deepEqual(reporter.reports, []);
    assert.equal(lanes.wentOut(lane, 480), undefined, 'the coordinator announces the start, not the lane');
    assert.deepEqual(reporter.reports, [{ kind: 'start', lane: 'host:api.test', at: 480 }]);
  });

  test("#23: a lane is paced (a fault's retry then needs no backoff) under a fixed rate, --rps auto, or once its controller cut", () => {
    const url = new URL('http://api.test/items/1');
    const paced = (partial: Parameters<typeof resolveOptions>[0], reporter?: RecordingReporter) => {
      const lanes = new Lanes(resolveOptions(partial), new RecordingLimiter(), () => 0, reporter);
      return lanes.isPaced(lanes.laneFor(url));
    };
    assert.equal(paced({}), false, 'no --rps: the controller stands aside');
    assert.equal(paced({ rps: 20 }), true);
    assert.equal(paced({ hostRps: 5 }), true);
    assert.equal(paced({ autoRate: true }), true);
    assert.equal(paced({ autoRate: true }, new RecordingReporter()), true, 'under --redis, --rps auto always has a rate');
    assert.equal(paced({}, new RecordingReporter()), false, 'under --redis with no --rps, the rate is not known here');
    // No --rps: the first 429 gives the controller a rate.
    const lanes = new Lanes(resolveOptions({}), new RecordingLimiter(), () => 0);
    const lane = lanes.laneFor(url);
    lanes.started(lane, 0);
    lanes.settled(lane, 10, { startedAt: 0, arrivedAt: 1, status: 429, failure: undefined, retryAfterMs: 1_000 });
    assert.equal(lanes.isPaced(lane), true);
  });

  test('#25: a report of a lane no process opened is left alone', () => {
    assert.equal(new SharedControllers(true).feed({ kind: 'start', lane: 'host:x', at: 0 }), undefined);
  });
});
