import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Backoff, backoffDelay, CAP_MS, parseRetryAfter } from '../../static/js/parley/backoff.js';

const noJitter = () => 0;
const fullJitter = () => 0.999999;

test('each wait is about 1.4 times the one before', () => {
  const backoff = new Backoff({ random: noJitter });
  const waits = Array.from({ length: 6 }, () => backoff.next());
  assert.equal(waits[0], 1000);
  for (let i = 1; i < waits.length; i += 1) assert.ok(Math.abs(waits[i] / waits[i - 1] - 1.4) < 1e-9);
});

test('the first wait is 1-2 s and jitter stays within base..2*base', () => {
  assert.equal(backoffDelay(0, { random: noJitter }), 1000);
  assert.ok(backoffDelay(0, { random: fullJitter }) < 2000);
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const base = Math.min(CAP_MS, 1000 * 1.4 ** attempt);
    const delay = backoffDelay(attempt);
    assert.ok(delay >= base && delay < 2 * base, `${attempt}: ${delay}`);
  }
});

test('waits are capped at 45-90 s', () => {
  assert.equal(backoffDelay(50, { random: noJitter }), 45000);
  assert.ok(backoffDelay(50, { random: fullJitter }) < 90000);
  const backoff = new Backoff({ random: fullJitter });
  for (let i = 0; i < 100; i += 1) assert.ok(backoff.next() < 90000);
});

test('a longer Retry-After is honoured, with up to 1 s of jitter', () => {
  assert.equal(backoffDelay(0, { retryAfter: 30000, random: noJitter }), 30000);
  const jittered = backoffDelay(0, { retryAfter: 30000, random: fullJitter });
  assert.ok(jittered >= 30000 && jittered < 31000);
});

test('a shorter Retry-After does not cut the backoff short', () => {
  assert.equal(backoffDelay(10, { retryAfter: 100, random: noJitter }), 1000 * 1.4 ** 10);
});

test('a success resets the waits to the first one', () => {
  const backoff = new Backoff({ random: noJitter });
  backoff.next();
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), 1000);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfter('120'), 120000);
  assert.equal(parseRetryAfter('0'), 0);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('soon'), null);
  const now = Date.parse('2024-05-01T12:00:00Z');
  assert.equal(parseRetryAfter('Wed, 01 May 2024 12:00:30 GMT', now), 30000);
  assert.equal(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now), 0); // in the past: at once
});
