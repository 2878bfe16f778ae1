import assert from 'node:assert/strict';
import { test } from 'node:test';

import { firstUnreadId, needsOlder, openingScroll } from '../../static/js/parley/divider.js';

const ME = 1;
const msg = (id, author = 2) => ({ id, author: { id: author } });

test('the line goes before the oldest message after my read mark that is not mine', () => {
  const page = [msg(10), msg(12), msg(15, ME), msg(20), msg(31)];
  assert.equal(firstUnreadId(page, { lastRead: 12, meId: ME }), 20); // 15 is mine: never unread
  assert.equal(firstUnreadId(page, { lastRead: 9, meId: ME }), 10);
  assert.equal(firstUnreadId(page, { lastRead: 0, meId: ME }), 10); // nothing read yet: all of it
  assert.equal(firstUnreadId([...page].reverse(), { lastRead: 12, meId: ME }), 20); // whatever the order given
});

test('no line when everything is read, when only my messages follow the mark, or when the mark is unknown', () => {
  const page = [msg(10), msg(12), msg(15, ME)];
  assert.equal(firstUnreadId(page, { lastRead: 15, meId: ME }), null);
  assert.equal(firstUnreadId(page, { lastRead: 40, meId: ME }), null);
  assert.equal(firstUnreadId(page, { lastRead: 12, meId: ME }), null);
  assert.equal(firstUnreadId(page, { lastRead: null, meId: ME }), null); // not a member
  assert.equal(firstUnreadId(page, { lastRead: undefined, meId: ME }), null);
  assert.equal(firstUnreadId([], { lastRead: 0, meId: ME }), null);
});

test('older pages are needed only when the oldest loaded message is unread and there is more history', () => {
  assert.equal(needsOlder({ minId: 50, hasMore: true, lastRead: 10 }), true);
  assert.equal(needsOlder({ minId: 50, hasMore: false, lastRead: 10 }), false); // the whole history is loaded
  assert.equal(needsOlder({ minId: 50, hasMore: true, lastRead: 50 }), false); // the mark is on the page
  assert.equal(needsOlder({ minId: 50, hasMore: true, lastRead: 70 }), false);
  assert.equal(needsOlder({ minId: 11, hasMore: true, lastRead: 10 }), false); // nothing can lie between
  assert.equal(needsOlder({ minId: 12, hasMore: true, lastRead: 10 }), true);
  assert.equal(needsOlder({ minId: 50, hasMore: true, lastRead: null }), false);
  assert.equal(needsOlder({ minId: null, hasMore: true, lastRead: 10 }), false);
});

test('an opening room scrolls to a linked message first, then to the line, else to the bottom', () => {
  assert.equal(openingScroll({ focusId: 7, dividerId: 5 }), 'message');
  assert.equal(openingScroll({ focusId: null, dividerId: 5 }), 'divider');
  assert.equal(openingScroll({ focusId: null, dividerId: null }), 'bottom');
  assert.equal(openingScroll({}), 'bottom');
});
