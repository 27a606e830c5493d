import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LaneQueues } from '../../src/run/lane-queues.ts';

const always = () => ({ ok: true as const });

test('hosts are served round robin, each in FIFO order', () => {
  const queues = new LaneQueues<string>();
  for (const item of ['a1', 'a2', 'a3']) queues.push('a', item);
  for (const item of ['b1', 'b2']) queues.push('b', item);
  const order: string[] = [];
  for (let next = queues.next(always); next && 'item' in next; next = queues.next(always)) order.push(next.item);
  assert.deepEqual(order, ['a1', 'b1', 'a2', 'b2', 'a3']);
  assert.equal(queues.next(always), undefined);
});

test('a host its buckets refuse is skipped, and the earliest retry time is reported', () => {
  const queues = new LaneQueues<string>();
  queues.push('paused', 'p1');
  queues.push('open', 'o1');
  const tryStart = (host: string) => (host === 'paused' ? { ok: false as const, retryAtMs: 5000 } : { ok: true as const });
  assert.deepEqual(queues.next(tryStart), { item: 'o1' });
  assert.deepEqual(queues.next(tryStart), { retryAtMs: 5000 });
  assert.equal(queues.laneCount, 1);
});

test('drain empties one host or all of them', () => {
  const queues = new LaneQueues<number>();
  queues.push('a', 1);
  queues.push('a', 2);
  queues.push('b', 3);
  assert.deepEqual(queues.drain('a'), [1, 2]);
  assert.deepEqual(queues.drain('x'), []);
  assert.deepEqual(queues.drain(), [3]);
  assert.equal(queues.laneCount, 0);
});

test('work already under way can go first in its host queue', () => {
  const queues = new LaneQueues<string>();
  queues.push('a', 'new1');
  queues.push('a', 'new2');
  queues.push('a', 'retry', true);
  const next = queues.next(always);
  assert.deepEqual(next, { item: 'retry' });
});
