import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applyMessage, applyReceipt } from '../../static/js/parley/events.js';
import { emptyTimeline } from '../../static/js/parley/timeline.js';
import {
  advanceLastRead, badgeText, countMessage, isSeen, markRoomRead, pageTitle, readReport, totalUnread,
} from '../../static/js/parley/unread.js';

const ME = 1;
const bob = { id: 2, display_name: 'Bob' };
const room = (slug, extra = {}) => ({ slug, kind: 'room', unread_count: 0, last_message_id: 0, is_member: true, ...extra });
const msgEvent = (id, slug, author = bob) => ({
  type: 'message', room: slug, message: { id, room: slug, author, body: 'hi', created_at: '2024-05-01T12:00:00Z' },
});
const viewOf = (slug, extra = {}) => ({ slug, known: () => false, atBottom: true, visible: true, ...extra });

/** Feed events through applyMessage as dispatch.js does, returning the rooms. */
function feed(rooms, view, ...events) {
  for (const event of events) rooms = applyMessage({ meId: ME, rooms, view }, event).rooms;
  return rooms;
}

test('a message counts unless the reader saw it arrive', () => {
  assert.equal(isSeen({ inView: true, atBottom: true, visible: true }), true);
  assert.equal(isSeen({ inView: true, atBottom: false, visible: true }), false);
  assert.equal(isSeen({ inView: true, atBottom: true, visible: false }), false);
  assert.equal(isSeen({ inView: false, atBottom: true, visible: true }), false);
  assert.equal(countMessage(room('a'), { mine: false, seen: false }).unread_count, 1);
  assert.equal(countMessage(room('a'), { mine: true, seen: false }).unread_count, 0);
  assert.equal(countMessage(room('a'), { mine: false, seen: true }).unread_count, 0);
});

test('messages in other rooms count, one each; the open room at the bottom does not', () => {
  let rooms = new Map([['a', room('a')], ['b', room('b')]]);
  rooms = feed(rooms, viewOf('a'), msgEvent(1, 'a'), msgEvent(2, 'b'), msgEvent(3, 'b'));
  assert.equal(rooms.get('a').unread_count, 0);
  assert.equal(rooms.get('b').unread_count, 2);
  assert.equal(totalUnread(rooms.values()), 2);
});

test('the open room counts while the reader is scrolled up or the tab is hidden', () => {
  let rooms = new Map([['a', room('a')]]);
  rooms = feed(rooms, viewOf('a', { atBottom: false }), msgEvent(1, 'a'));
  rooms = feed(rooms, viewOf('a', { visible: false }), msgEvent(2, 'a'));
  assert.equal(rooms.get('a').unread_count, 2);
});

test('switching rooms: the old room counts again, the new one is read', () => {
  let rooms = new Map([['a', room('a')], ['b', room('b')]]);
  rooms = feed(rooms, viewOf('a'), msgEvent(1, 'b'), msgEvent(2, 'b'));
  // The reader opens b and reads it...
  rooms = new Map(rooms).set('b', markRoomRead(rooms.get('b')));
  // ...and now a is the room in the background.
  rooms = feed(rooms, viewOf('b'), msgEvent(3, 'a'), msgEvent(4, 'b'));
  assert.equal(rooms.get('a').unread_count, 1);
  assert.equal(rooms.get('b').unread_count, 0);
});

test('marking read clears the count and leaves a read room as it was', () => {
  const read = room('a');
  assert.equal(markRoomRead(read), read);
  assert.equal(markRoomRead(room('a', { unread_count: 4 })).unread_count, 0);
});

test('reading in another tab clears the count only when it covers the newest message', () => {
  const rooms = new Map([['a', room('a', { unread_count: 2, last_message_id: 10 })]]);
  const partial = applyReceipt({ meId: ME, rooms, lastRead: new Map() }, { room: 'a', user: { id: ME }, message_id: 9 });
  assert.equal(partial.cleared, false);
  assert.equal(partial.rooms.get('a').unread_count, 2);
  assert.equal(partial.lastRead.get('a'), 9);
  const full = applyReceipt({ meId: ME, rooms, lastRead: partial.lastRead }, { room: 'a', user: { id: ME }, message_id: 10 });
  assert.equal(full.cleared, true);
  assert.equal(full.rooms.get('a').unread_count, 0);
  assert.equal(rooms.get('a').unread_count, 2, 'the input is left alone');
});

test('rooms I left do not count in the title', () => {
  const rooms = [room('a', { unread_count: 2 }), room('b', { unread_count: 5, is_member: false })];
  assert.equal(totalUnread(rooms), 2);
  assert.equal(pageTitle(2), '(2) Parley');
  assert.equal(pageTitle(0), 'Parley');
  assert.equal(badgeText(120), '99+');
  assert.equal(badgeText(undefined), '0');
});

test('a read is reported once, and only forwards', () => {
  let lastRead = new Map();
  const first = readReport(lastRead, 'a', 10);
  assert.deepEqual([first.messageId, first.previous], [10, 0]);
  lastRead = first.lastRead;
  assert.equal(readReport(lastRead, 'a', 10), null);
  assert.equal(readReport(lastRead, 'a', 7), null);
  assert.equal(readReport(lastRead, 'a', null), null);
  assert.equal(readReport(lastRead, 'a', 11).previous, 10);
  assert.equal(advanceLastRead(lastRead, 'a', 3).get('a'), 10);
  assert.equal(advanceLastRead(lastRead, 'b', 3).get('b'), 3);
  assert.equal(lastRead.has('b'), false);
});

test('an empty timeline has no bounds', () => {
  assert.deepEqual(emptyTimeline(), { messages: new Map(), minId: null, maxId: null });
});
