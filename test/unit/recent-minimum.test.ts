import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentMinimum } from '../../src/rate/recent-minimum.ts';

test('#24: the smallest of the last `size` values: older ones leave as new ones come', () => {
  const recent = new RecentMinimum(3);
  assert.equal(recent.min(), undefined, 'nothing added yet');
  recent.add(5);
  assert.equal(recent.min(), 5);
  recent.add(1);
  recent.add(7);
  assert.equal(recent.min(), 1);
  recent.add(8); // 5 leaves
  assert.equal(recent.min(), 1);
  recent.add(9); // 1 leaves
  assert.equal(recent.min(), 7);
  for (const value of [20, 30, 40]) recent.add(value);
  assert.equal(recent.min(), 20, 'only the last three count');
});
