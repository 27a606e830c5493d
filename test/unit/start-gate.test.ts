// #22 §4: the gate counts the slots on the wire; our lanes hold the jobs waiting for a token or a
// pause. The gate runs over real lanes and the real limiter, on a clock that moves only with the
// mocked timers, so the wake timer and every wait are decided in virtual time.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { RunEvent } from '../../src/events.ts';
import { resolveOptions, type RunOptions } from '../../src/options.ts';
import { planRequest } from '../../src/plan/planner.ts';
import { Lanes } from '../../src/rate/lanes.ts';
import { TokenBucketLimiter, hostBucket, type Clock } from '../../src/rate/limiter.ts';
import { newJob, type Job } from '../../src/run/job.ts';
import { StartGate } from '../../src/run/start-gate.ts';

const T0 = 1_700_000_000_000;

/** A job's name in these tests: its host's first letter and its path, `a1`. */
const nameOf = (job: Job) => `${job.host[0]}${job.plan.url.pathname.slice(1)}`;

/** Lets the gate free a slot (it does so a microtask after the start settles) and pump. */
const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

function gateHarness(t: TestContext, partial: Partial<RunOptions>) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = T0;
  const clock: Clock = { now: () => now };
  const options = resolveOptions(partial);
  const limiter = new TokenBucketLimiter(clock);
  const lanes = new Lanes(options, limiter, clock.now);
  const events: RunEvent[] = [];
  const started: string[] = [];
  const onWire = new Map<string, { job: Job; end: (error?: Error) => void }>();
  const defects: unknown[] = [];
  let budgetSpent = 0;
  let onStart = (_job: Job): void => undefined;
  const gate = new StartGate({
    lanes,
    limiter,
    clock,
    emit: (event) => events.push(event),
    concurrency: options.concurrency,
    maxRequests: options.maxRequests,
    start: (job) =>
      new Promise<void>((resolve, reject) => {
        started.push(nameOf(job));
        onWire.set(nameOf(job), { job, end: (error) => (error ? reject(error) : resolve()) });
        onStart(job);
      }),
    onBudgetSpent: () => {
      budgetSpent += 1;
    },
    onDefect: (error) => void defects.push(error),
  });
  t.after(() => gate.close());

  return {
    gate,
    limiter,
    events,
    started,
    defects,
    budgetSpent: () => budgetSpent,
    onStart: (callback: (job: Job) => void) => {
      onStart = callback;
    },
    now: () => now,
    add(url: string, first = false): Job {
      const plan = planRequest({ line: started.length + onWire.size + 1, text: url }, options);
      assert.equal(plan.kind, 'request');
      if (plan.kind !== 'request') throw new Error('unreachable');
      const job = newJob(plan, lanes.laneFor(plan.url), now);
      gate.add(job, first);
      return job;
    },
    /** Ends a request on the wire (it answered, or failed with `error`), then lets the gate pump. */
    async end(name: string, error?: Error): Promise<void> {
      const request = onWire.get(name);
      assert.ok(request, `${name} is on the wire`);
      onWire.delete(name);
      request.end(error);
      await settleMicrotasks();
    },
    advance(ms: number): void {
      now += ms;
      t.mock.timers.tick(ms);
    },
    /** The gate's view: the slots taken are the requests on the wire. */
    assertSlots(pending: number, label: string): void {
      assert.equal(gate.onWire, pending, `${label}: slots taken`);
      assert.equal(onWire.size, pending, `${label}: one slot per request on the wire`);
    },
  };
}

test('#22: through a paused run, a job waiting for the pause holds no slot', async (t) => {
  const h = gateHarness(t, { concurrency: 2 });
  h.limiter.pause(hostBucket('a.test'), T0 + 1_000);
  for (const url of ['http://a.test/1', 'http://a.test/2', 'http://b.test/1', 'http://b.test/2', 'http://b.test/3']) h.add(url);
  assert.deepEqual(h.started, ['b1', 'b2'], 'the paused host waits; the other takes both slots');
  h.assertSlots(2, 'both slots taken');

  await h.end('b1');
  assert.deepEqual(h.started, ['b1', 'b2', 'b3'], 'a freed slot goes to the host that may start');
  h.assertSlots(2, 'b3 took the freed slot');
  await h.end('b2');
  await h.end('b3');
  h.assertSlots(0, 'two jobs wait for the pause, holding no slot');

  h.advance(999);
  assert.deepEqual(h.started, ['b1', 'b2', 'b3'], 'nothing starts before the pause ends');
  h.assertSlots(0, '1 ms before the pause ends');
  h.advance(1);
  assert.deepEqual(h.started, ['b1', 'b2', 'b3', 'a1', 'a2'], 'the wake timer starts both at the pause end, in order');
  h.assertSlots(2, 'at the pause end');
  const rateWaits = h.events.flatMap((e) => (e.type === 'rate-wait' ? [e.waitedMs] : []));
  assert.equal(rateWaits.at(-1), 1_000, 'the stretch with free slots and only paused work waiting lasted the whole pause');

  await h.end('a1');
  await h.end('a2');
  h.assertSlots(0, 'the end of the run');
  assert.deepEqual(h.defects, []);
});

test('#22: a request held back frees its slot when its start settles, costs no budget, and goes first', async (t) => {
  const h = gateHarness(t, { concurrency: 1, maxRequests: 2 });
  let held: Job | undefined;
  h.onStart((job) => {
    held ??= job;
  });
  h.add('http://a.test/1');
  h.add('http://a.test/2');
  // What the scheduler's holdBack does before its start settles: refund the budget, queue the job first.
  h.gate.held();
  h.gate.add(held!, true);
  assert.deepEqual(h.started, ['a1'], 'the slot stays taken until the start settles');
  await h.end('a1');
  assert.deepEqual(h.started, ['a1', 'a1'], 'the held job started again, before the job behind it');
  h.assertSlots(1, 'the held job is on the wire again');

  await h.end('a1');
  assert.deepEqual(h.started, ['a1', 'a1', 'a2'], 'the held start did not count against --max-requests 2');
  h.add('http://a.test/3');
  assert.equal(h.budgetSpent(), 0);
  await h.end('a2');
  assert.equal(h.budgetSpent(), 1, 'a third start would pass the budget');
  assert.deepEqual(h.started, ['a1', 'a1', 'a2']);
  h.assertSlots(0, 'budget spent');
});

test('#22: settledWithin waits for the requests on the wire, up to the grace period, and leaves nothing behind', async (t) => {
  const h = gateHarness(t, { concurrency: 2 });
  const run = new AbortController();
  const listeners = () => getEventListeners(run.signal, 'abort').length;
  const watch = (promise: Promise<boolean>) => {
    const seen: { allOff?: boolean } = {};
    void promise.then((allOff) => (seen.allOff = allOff));
    return seen;
  };

  assert.equal(await h.gate.settledWithin(500, run.signal), true, 'nothing on the wire: at once');
  h.add('http://a.test/1');
  h.add('http://a.test/2');
  const inTime = watch(h.gate.settledWithin(500, run.signal));
  assert.equal(listeners(), 1);
  await h.end('a1');
  h.advance(499);
  await settleMicrotasks();
  assert.equal(inTime.allOff, undefined, 'one request is still on the wire');
  await h.end('a2');
  assert.equal(inTime.allOff, true, 'all off the wire within the grace period');
  assert.equal(listeners(), 0);

  h.add('http://a.test/3');
  const tooLong = watch(h.gate.settledWithin(500, run.signal));
  h.advance(499);
  await settleMicrotasks();
  assert.equal(tooLong.allOff, undefined);
  h.advance(1);
  await settleMicrotasks();
  assert.equal(tooLong.allOff, false, 'the grace period is over');
  assert.equal(listeners(), 0);

  const ended = watch(h.gate.settledWithin(500, run.signal));
  run.abort();
  await settleMicrotasks();
  assert.equal(ended.allOff, false, 'the run ended first');
  assert.equal(listeners(), 0);
  await h.end('a3');
});

test('#22: a start that rejects is reported as a defect, never left unhandled, and frees its slot', async (t) => {
  const h = gateHarness(t, { concurrency: 1 });
  h.add('http://a.test/1');
  h.add('http://a.test/2');
  const bug = new Error('a bug while acting on an outcome');
  await h.end('a1', bug);
  assert.deepEqual(h.defects, [bug]);
  assert.deepEqual(h.started, ['a1', 'a2'], 'the slot freed');
  h.assertSlots(1, 'after the defect');
  await h.end('a2');
});
