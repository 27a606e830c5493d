// src/abort.ts: one listener per signal, however many waits watch it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { watchAbort } from '../../src/abort.ts';

test('#24: an abort calls every watcher still watching, once, in the order they came', () => {
  const controller = new AbortController();
  const called: number[] = [];
  const unwatch = Array.from({ length: 200 }, (_, i) => watchAbort(controller.signal, () => called.push(i)));
  // Waits end in any order, as attempts do; the ring stays whole.
  const ended = new Set<number>();
  for (let i = 0; i < 200; i += 3) ended.add(i);
  for (let i = 199; i >= 0; i -= 7) ended.add(i);
  for (const i of ended) unwatch[i]!();
  unwatch[0]!(); // a second unwatch is a no-op
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'one listener for all of them');
  controller.abort();
  const expected = Array.from({ length: 200 }, (_, i) => i).filter((i) => !ended.has(i));
  assert.deepEqual(called, expected);
  for (const each of unwatch) each(); // after the abort: no-ops
  assert.deepEqual(called, expected, 'nobody is called twice');
});

test('#24: a watcher that unwatches another during the abort does not stop it being called', () => {
  const controller = new AbortController();
  const called: string[] = [];
  let unwatchB = (): void => undefined;
  watchAbort(controller.signal, () => {
    called.push('a');
    unwatchB();
  });
  unwatchB = watchAbort(controller.signal, () => called.push('b'));
  controller.abort();
  assert.deepEqual(called, ['a', 'b']);
});
