import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applyMessage, applyPresence, applyReceipt, applyRoomEvent } from '../../static/js/parley/events.js';
import { addMessages, emptyTimeline, inOrder } from '../../static/js/parley/timeline.js';

const ME = 1;
const ana = { id: ME, display_name: 'Ana' };
const bob = { id: 2, display_name: 'Bob' };

const message = (id, author, extra = {}) => ({
  id, room: 'lobby', author, body: `m${id}`, created_at: '2024-05-01T12:00:00Z', ...extra,
});
const event = (msg) => ({ type: 'message', room: msg.room, message: msg });
const rooms = (...list) => new Map(list.map((r) => [r.slug, r]));
const lobby = { slug: 'lobby', kind: 'room', name: 'Lobby', unread_count: 0, last_message_id: 5, is_member: true };
const openView = (timeline, extra = {}) => ({
  slug: 'lobby', known: (id) => timeline.messages.has(id), atBottom: true, visible: true, ...extra,
});

test('a new message in the open room is shown once and moves last_message_id', () => {
  const result = applyMessage({ meId: ME, rooms: rooms(lobby), view: openView(emptyTimeline()) }, event(message(6, bob)));
  assert.equal(result.show, true);
  assert.equal(result.confirm, false);
  assert.equal(result.rooms.get('lobby').last_message_id, 6);
  assert.equal(lobby.last_message_id, 5, 'the input is left alone');
});

test('the timeline appends a message once and ignores it when it comes again', () => {
  let { timeline, added } = addMessages(emptyTimeline(), [message(6, bob)]);
  assert.equal(added.length, 1);
  ({ timeline, added } = addMessages(timeline, [message(6, bob)]));
  assert.equal(added.length, 0);
  assert.equal(timeline.messages.size, 1);
  ({ timeline } = addMessages(timeline, [message(9, bob), message(3, bob), message(9, bob)]));
  assert.deepEqual(inOrder(timeline).map((m) => m.id), [3, 6, 9]);
  assert.deepEqual([timeline.minId, timeline.maxId], [3, 9]);
});

test('a message already in the open room is neither shown, counted nor notified again', () => {
  const { timeline } = addMessages(emptyTimeline(), [message(6, bob)]);
  const result = applyMessage({
    meId: ME, rooms: rooms(lobby), view: openView(timeline, { atBottom: false }),
  }, event(message(6, bob)));
  assert.equal(result.show, false);
  assert.equal(result.counted, false);
  assert.equal(result.notify, false);
  assert.equal(result.rooms.get('lobby').unread_count, 0);
});

test('my own pending send is confirmed, not appended or counted', () => {
  const msg = message(6, ana, { client_id: 'abc' });
  const before = rooms(lobby);
  const result = applyMessage({
    meId: ME, rooms: before, view: openView(emptyTimeline()), pending: (id) => id === 'abc',
  }, event(msg));
  assert.equal(result.confirm, true);
  assert.equal(result.show, false);
  assert.equal(result.rooms, before, 'rooms untouched');
  assert.equal(result.rooms.get('lobby').unread_count, 0);
});

test('my own message sent from elsewhere is shown but never unread', () => {
  const result = applyMessage({ meId: ME, rooms: rooms(lobby), view: null }, event(message(6, ana, { client_id: 'x' })));
  assert.equal(result.confirm, false);
  assert.equal(result.counted, false);
  assert.equal(result.notify, false);
});

test('a message for a room I do not know yet asks for the room list', () => {
  const result = applyMessage({ meId: ME, rooms: rooms(), view: null }, event(message(6, bob, { room: 'new' })));
  assert.equal(result.refreshRooms, true);
  assert.equal(result.counted, false);
  assert.equal(result.rooms.size, 0);
});

test('a DM message re-sorts the sidebar', () => {
  const dm = { slug: 'dm-1-2', kind: 'dm', unread_count: 0 };
  const result = applyMessage({ meId: ME, rooms: rooms(dm), view: null }, event(message(6, bob, { room: 'dm-1-2' })));
  assert.equal(result.resort, true);
});

test('a room event about me joining stores the room as mine, keeping its unread count', () => {
  const old = { ...lobby, unread_count: 3, is_member: false };
  const result = applyRoomEvent({ meId: ME, rooms: rooms(old) }, {
    type: 'room', action: 'joined', room: 'lobby', user: ana, data: { slug: 'lobby', name: 'Lobby!', unread_count: 0 },
  });
  assert.equal(result.left, false);
  assert.equal(result.room.is_member, true);
  assert.equal(result.room.unread_count, 3);
  assert.equal(result.rooms.get('lobby').name, 'Lobby!');
});

test('a room event about a public room I am not in is not stored', () => {
  const result = applyRoomEvent({ meId: ME, rooms: rooms() }, {
    type: 'room', action: 'created', room: 'open', user: bob, data: { slug: 'open', kind: 'room', is_private: false },
  });
  assert.equal(result.room.is_member, undefined);
  assert.equal(result.rooms.has('open'), false);
});

test('a room event about a private room or a DM means I am in it', () => {
  const result = applyRoomEvent({ meId: ME, rooms: rooms() }, {
    type: 'room', action: 'changed', room: 'secret', user: bob, data: { slug: 'secret', is_private: true },
  });
  assert.equal(result.room.is_member, true);
  assert.equal(result.rooms.get('secret').unread_count, 0);
});

test('a room event saying I left asks to forget the room', () => {
  const result = applyRoomEvent({ meId: ME, rooms: rooms(lobby) }, { type: 'room', action: 'left', room: 'lobby', user: ana });
  assert.deepEqual([result.left, result.known], [true, true]);
  assert.equal(applyRoomEvent({ meId: ME, rooms: rooms() }, { type: 'room', action: 'left', user: ana }), null);
});

test("someone else's receipt is for the open room's Seen by", () => {
  const result = applyReceipt({ meId: ME, rooms: rooms(lobby), lastRead: new Map() }, {
    type: 'receipt', room: 'lobby', user: bob, message_id: 5,
  });
  assert.deepEqual(result, { mine: false, room: 'lobby', userId: 2, messageId: 5 });
});

test('a presence event becomes what to merge into the member', () => {
  assert.deepEqual(applyPresence({ user: bob, status: 'online', last_seen: null }), {
    userId: 2, live: { presence: 'online', last_seen: null },
  });
});

test('a message the client already counted, or that the room list counted, is not counted again', () => {
  // The room list was read after message 8 was stored (its count has it); its event comes after,
  // or a resync replays it: the badge must not go from 3 to 4.
  const listed = { ...lobby, unread_count: 3, last_message_id: 8 };
  const replay = applyMessage({ meId: ME, rooms: rooms(listed), view: null }, event(message(8, bob)));
  assert.equal(replay.counted, false);
  assert.equal(replay.notify, true, 'the list counted it, but nobody was told of it yet');
  assert.equal(replay.rooms.get('lobby').unread_count, 3);

  const next = applyMessage({ meId: ME, rooms: replay.rooms, view: null }, event(message(9, bob)));
  assert.equal(next.counted, true);
  assert.equal(next.rooms.get('lobby').unread_count, 4);
  const twice = applyMessage({ meId: ME, rooms: next.rooms, view: null }, event(message(9, bob)));
  assert.equal(twice.counted, false);
  assert.equal(twice.rooms.get('lobby').unread_count, 4);
});
