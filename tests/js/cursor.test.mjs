import assert from 'node:assert/strict';
import { test } from 'node:test';

import { initialPoll, nextRequest, pollFailed, pollSucceeded, POLL_TIMEOUT_S } from '../../static/js/parley/cursor.js';

test('without a cursor the loop first takes one', () => {
  assert.deepEqual(nextRequest(initialPoll()), { resync: true });
});

test('a poll carries the cursor the last answer gave', () => {
  let poll = pollSucceeded(initialPoll(), 'c1');
  assert.deepEqual(nextRequest(poll), { cursor: 'c1', timeout: POLL_TIMEOUT_S });
  poll = pollSucceeded(poll, 'c2');
  assert.equal(nextRequest(poll).cursor, 'c2');
});

test('after a failure the next poll keeps the cursor and asks with timeout 0', () => {
  const { poll, action } = pollFailed(pollSucceeded(initialPoll(), 'c1'), { status: 0 });
  assert.equal(action, 'wait');
  assert.deepEqual(nextRequest(poll), { cursor: 'c1', timeout: 0 });
  assert.deepEqual(nextRequest(pollSucceeded(poll, 'c2')), { cursor: 'c2', timeout: POLL_TIMEOUT_S });
});

test('being woken up polls again at once, cursor unchanged', () => {
  const before = pollSucceeded(initialPoll(), 'c1');
  const { poll, action } = pollFailed(before, { name: 'AbortError' });
  assert.equal(action, 'now');
  assert.deepEqual(poll, before);
});

test('an expired cursor is dropped and a new one taken at once, twice, then with backoff', () => {
  let poll = pollSucceeded(initialPoll(), 'old');
  const actions = [];
  for (let i = 0; i < 3; i += 1) {
    const failed = pollFailed(poll, { status: 410, code: 'cursor_expired' });
    poll = failed.poll;
    actions.push(failed.action);
    assert.deepEqual(nextRequest(poll), { resync: true });
  }
  assert.deepEqual(actions, ['now', 'now', 'wait']);
  assert.equal(pollSucceeded(poll, 'new').expired, 0);
});

test('a gone session sends the reader to log in', () => {
  for (const error of [{ status: 401 }, { status: 403 }, { status: 403, code: 'pending_approval' }]) {
    assert.equal(pollFailed(initialPoll(), error).action, 'login');
  }
});

test('rate limits and server errors back off', () => {
  for (const status of [429, 500, 502, 503]) assert.equal(pollFailed(initialPoll(), { status }).action, 'wait');
});
