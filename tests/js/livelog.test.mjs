import assert from 'node:assert/strict';
import { test } from 'node:test';

import { quietRegion } from '../../static/js/parley/livelog.js';

function region() {
  const changes = [];
  const pending = [];
  const hold = quietRegion((busy) => changes.push(busy), (fn) => pending.push(fn));
  const settle = () => { while (pending.length) pending.shift()(); };
  return { changes, hold, settle };
}

test('a hold makes the region busy until its release has settled', () => {
  const { changes, hold, settle } = region();
  const release = hold();
  assert.deepEqual(changes, [true]);
  release();
  assert.deepEqual(changes, [true], 'still busy until the accessibility tree has the change');
  settle();
  assert.deepEqual(changes, [true, false]);
});

test('overlapping holds keep the region busy until the last is released', () => {
  const { changes, hold, settle } = region();
  const load = hold();
  const redraw = hold();
  redraw();
  settle();
  assert.deepEqual(changes, [true]);
  load();
  settle();
  assert.deepEqual(changes, [true, false]);
});

test('releasing twice counts once', () => {
  const { changes, hold, settle } = region();
  const first = hold();
  const second = hold();
  first();
  first();
  settle();
  assert.deepEqual(changes, [true]);
  second();
  settle();
  assert.deepEqual(changes, [true, false]);
});
