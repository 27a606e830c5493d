// src/http/deadlines.ts: attempt deadlines on one timer per timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { cancelDeadline, startDeadline } from '../../src/http/deadlines.ts';

const activeTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

test('#24: a deadline comes due, never early; a cancelled one never does; none keeps a timer once done', async () => {
  const timeoutMs = 40;
  const timersBefore = activeTimers();
  const fired: Array<{ name: string; lateMs: number }> = [];
  const start = (name: string) => {
    const startedAt = performance.now();
    return startDeadline(timeoutMs, () => fired.push({ name, lateMs: performance.now() - (startedAt + timeoutMs) }));
  };
  start('a');
  await sleep(10);
  const b = start('b');
  await sleep(10);
  start('c');
  cancelDeadline(timeoutMs, b);
  cancelDeadline(timeoutMs, b); // twice is harmless
  await sleep(timeoutMs * 4);
  assert.deepEqual(
    fired.map((f) => f.name),
    ['a', 'c'],
  );
  for (const { name, lateMs } of fired) assert.ok(lateMs >= 0, `${name} came due ${-lateMs} ms early`);
  assert.equal(activeTimers(), timersBefore, 'no timer left once nothing waits');
});

test('#24: cancelling every deadline before it is due clears the timer', async () => {
  const timeoutMs = 60_000;
  const timersBefore = activeTimers();
  const deadlines = Array.from({ length: 100 }, () => startDeadline(timeoutMs, () => assert.fail('came due')));
  assert.equal(activeTimers(), timersBefore + 1, 'one timer for the hundred');
  for (const deadline of deadlines.reverse()) cancelDeadline(timeoutMs, deadline);
  assert.equal(activeTimers(), timersBefore);
});
