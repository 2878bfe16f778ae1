/* Part 2 (rich messages): edits, deletes, reactions and mentions applied to plain state. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyMessage, applyMessageDeleted, applyMessageUpdated, applyReaction, applyReceipt,
} from '../../static/js/parley/events.js';
import { messageIdFromHash, messageLink } from '../../static/js/parley/rooms.js';
import {
  addMessages, emptyTimeline, removeMessage, replaceMessage, requote,
} from '../../static/js/parley/timeline.js';
import {
  isUnread, markRoomRead, mentionBadgeText, mentionsMe, readElsewhere,
} from '../../static/js/parley/unread.js';

const ME = 1;
const ana = { id: ME, display_name: 'Ana' };
const bob = { id: 2, display_name: 'Bob' };
const message = (id, author, extra = {}) => ({
  id, room: 'lobby', author, body: `m${id}`, created_at: '2024-05-01T12:00:00Z', ...extra,
});
const rooms = (...list) => new Map(list.map((r) => [r.slug, r]));
const lobby = (extra = {}) => ({
  slug: 'lobby', kind: 'room', name: 'Lobby', unread_count: 0, mention_count: 0, last_message_id: 10, is_member: true, ...extra,
});
const holding = (...messages) => {
  const byId = new Map(messages.map((m) => [m.id, m]));
  return (id) => byId.get(id) || null;
};

// ---- Mentions and unread ---------------------------------------------------

test('a message that mentions me and arrives unseen counts as unread and as a mention', () => {
  const result = applyMessage({ meId: ME, rooms: rooms(lobby()), view: null },
    { type: 'message', room: 'lobby', message: message(11, bob, { mentions: [ME, 3] }) });
  assert.equal(result.rooms.get('lobby').unread_count, 1);
  assert.equal(result.rooms.get('lobby').mention_count, 1);
  const plain = applyMessage({ meId: ME, rooms: result.rooms, view: null },
    { type: 'message', room: 'lobby', message: message(12, bob, { mentions: [3] }) });
  assert.equal(plain.rooms.get('lobby').unread_count, 2);
  assert.equal(plain.rooms.get('lobby').mention_count, 1);
});

test('a Part 1 message (no mentions, no mention_count) counts as before', () => {
  const room = { slug: 'lobby', kind: 'room', unread_count: 0, last_message_id: 1, is_member: true };
  const result = applyMessage({ meId: ME, rooms: rooms(room), view: null },
    { type: 'message', room: 'lobby', message: message(2, bob) });
  assert.equal(result.rooms.get('lobby').unread_count, 1);
  assert.equal(result.rooms.get('lobby').mention_count, undefined);
  assert.equal(mentionsMe(message(2, bob), ME), false);
  assert.equal(mentionsMe(message(2, bob, { mentions: null }), ME), false);
});

test('reading a room, here or elsewhere, clears its mention count too', () => {
  assert.deepEqual(markRoomRead(lobby({ unread_count: 3, mention_count: 1 })).mention_count, 0);
  const onlyMention = lobby({ unread_count: 0, mention_count: 1 });
  assert.equal(markRoomRead(onlyMention).mention_count, 0);
  assert.equal(readElsewhere(lobby({ unread_count: 2, mention_count: 1 }), 10).mention_count, 0);
  assert.equal(readElsewhere(lobby({ unread_count: 2, mention_count: 1 }), 9).mention_count, 1, 'not read to the end');
  const receipt = applyReceipt({ meId: ME, rooms: rooms(lobby({ unread_count: 2, mention_count: 2 })), lastRead: new Map() },
    { type: 'receipt', room: 'lobby', user: ana, message_id: 10 });
  assert.equal(receipt.rooms.get('lobby').mention_count, 0);
});

test('the @ badge says @ for one mention and @N for more', () => {
  assert.equal(mentionBadgeText(0), '');
  assert.equal(mentionBadgeText(undefined), '');
  assert.equal(mentionBadgeText(1), '@');
  assert.equal(mentionBadgeText(4), '@4');
  assert.equal(mentionBadgeText(120), '@99+');
});

test('a message is unread when it is not mine and newer than what I read; unknown without a read mark', () => {
  assert.equal(isUnread({ id: 5, mine: false, lastRead: 4 }), true);
  assert.equal(isUnread({ id: 4, mine: false, lastRead: 4 }), false);
  assert.equal(isUnread({ id: 5, mine: true, lastRead: 4 }), false);
  assert.equal(isUnread({ id: 5, mine: false, lastRead: undefined }), null);
});

// ---- message_deleted -------------------------------------------------------

test('deleting an unread message lowers the unread count, and the mention count if it mentioned me', () => {
  const before = rooms(lobby({ unread_count: 2, mention_count: 1 }));
  const known = holding(message(9, bob, { mentions: [ME] }), message(8, bob));
  const lastRead = new Map([['lobby', 7]]);
  const first = applyMessageDeleted({ meId: ME, rooms: before, lastRead, known },
    { type: 'message_deleted', room: 'lobby', message_id: 9 });
  assert.deepEqual([first.rooms.get('lobby').unread_count, first.rooms.get('lobby').mention_count], [1, 0]);
  assert.equal(first.refreshRooms, false);
  const second = applyMessageDeleted({ meId: ME, rooms: first.rooms, lastRead, known },
    { type: 'message_deleted', room: 'lobby', message_id: 8 });
  assert.deepEqual([second.rooms.get('lobby').unread_count, second.rooms.get('lobby').mention_count], [0, 0]);
  assert.equal(before.get('lobby').unread_count, 2, 'the input is left alone');
});

test('deleting a read message, or my own, changes no count', () => {
  const before = rooms(lobby({ unread_count: 1 }));
  const lastRead = new Map([['lobby', 8]]);
  for (const msg of [message(6, bob), message(9, ana)]) {
    const result = applyMessageDeleted({ meId: ME, rooms: before, lastRead, known: holding(msg) },
      { type: 'message_deleted', room: 'lobby', message_id: msg.id });
    assert.equal(result.rooms, before);
    assert.equal(result.refreshRooms, false);
  }
});

test('a delete the client cannot judge asks the server, but only when a count could be wrong', () => {
  const unknownMessage = applyMessageDeleted({ meId: ME, rooms: rooms(lobby({ unread_count: 1 })) },
    { type: 'message_deleted', room: 'lobby', message_id: 9 });
  assert.equal(unknownMessage.refreshRooms, true);
  const unknownRead = applyMessageDeleted({ meId: ME, rooms: rooms(lobby({ unread_count: 1 })), known: holding(message(9, bob)) },
    { type: 'message_deleted', room: 'lobby', message_id: 9 });
  assert.equal(unknownRead.refreshRooms, true);
  const nothingUnread = applyMessageDeleted({ meId: ME, rooms: rooms(lobby()) },
    { type: 'message_deleted', room: 'lobby', message_id: 9 });
  assert.equal(nothingUnread.refreshRooms, false);
  const noRoomNamed = applyMessageDeleted({ meId: ME, rooms: rooms(lobby()) }, { type: 'message_deleted', message_id: 9 });
  assert.equal(noRoomNamed.refreshRooms, false);
  const noRoomButUnread = applyMessageDeleted({ meId: ME, rooms: rooms(lobby({ mention_count: 1 })) },
    { type: 'message_deleted', message_id: 9 });
  assert.equal(noRoomButUnread.refreshRooms, true);
});

test("deleting a room's newest message asks the server for the new newest", () => {
  const result = applyMessageDeleted({ meId: ME, rooms: rooms(lobby()) }, { type: 'message_deleted', room: 'lobby', message_id: 10 });
  assert.equal(result.refreshRooms, true);
});

// ---- message_updated -------------------------------------------------------

test('an edit that adds a mention of me to an unread message raises the mention count; removing it lowers it', () => {
  const old = message(9, bob);
  const edited = message(9, bob, { mentions: [ME], edited_at: '2024-05-01T12:01:00Z' });
  const lastRead = new Map([['lobby', 5]]);
  const added = applyMessageUpdated({ meId: ME, rooms: rooms(lobby({ unread_count: 1 })), lastRead, known: holding(old) },
    { type: 'message_updated', room: 'lobby', message: edited });
  assert.equal(added.msg, edited);
  assert.equal(added.rooms.get('lobby').mention_count, 1);
  const removed = applyMessageUpdated({ meId: ME, rooms: added.rooms, lastRead, known: holding(edited) },
    { type: 'message_updated', room: 'lobby', message: old });
  assert.equal(removed.rooms.get('lobby').mention_count, 0);
});

test('an edit of a read message, or one that keeps the mentions, changes no count', () => {
  const before = rooms(lobby({ unread_count: 1, mention_count: 1 }));
  const msg = message(9, bob, { mentions: [ME] });
  const read = applyMessageUpdated({ meId: ME, rooms: before, lastRead: new Map([['lobby', 9]]), known: holding(message(9, bob)) },
    { type: 'message_updated', room: 'lobby', message: msg });
  assert.equal(read.rooms, before);
  const same = applyMessageUpdated({ meId: ME, rooms: before, lastRead: new Map([['lobby', 5]]), known: holding(msg) },
    { type: 'message_updated', room: 'lobby', message: { ...msg, body: 'fixed' } });
  assert.equal(same.rooms, before);
  assert.equal(same.refreshRooms, false);
});

test('an edit of a message the client does not hold asks the server only if a mention is at stake', () => {
  const withMention = applyMessageUpdated({ meId: ME, rooms: rooms(lobby({ unread_count: 1 })) },
    { type: 'message_updated', room: 'lobby', message: message(9, bob, { mentions: [ME] }) });
  assert.equal(withMention.refreshRooms, true);
  const without = applyMessageUpdated({ meId: ME, rooms: rooms(lobby({ unread_count: 1 })) },
    { type: 'message_updated', room: 'lobby', message: message(9, bob) });
  assert.equal(without.refreshRooms, false);
});

// ---- reaction --------------------------------------------------------------

test('a reaction event changes the held message and is idempotent', () => {
  const msg = message(9, bob, { reactions: [{ emoji: '👍', user_ids: [2] }] });
  const added = applyReaction({ known: holding(msg) },
    { type: 'reaction', room: 'lobby', message_id: 9, emoji: '👍', user: ana, action: 'added' });
  assert.deepEqual(added.msg.reactions, [{ emoji: '👍', user_ids: [2, ME] }]);
  const again = applyReaction({ known: holding(added.msg) },
    { type: 'reaction', room: 'lobby', message_id: 9, emoji: '👍', user: ana, action: 'added' });
  assert.equal(again.msg, null, 'nothing to redraw');
  const removed = applyReaction({ known: holding(added.msg) },
    { type: 'reaction', room: 'lobby', message_id: 9, emoji: '👍', user: bob, action: 'removed' });
  assert.deepEqual(removed.msg.reactions, [{ emoji: '👍', user_ids: [ME] }]);
  const elsewhere = applyReaction({ known: holding() },
    { type: 'reaction', room: 'lobby', message_id: 99, emoji: '👍', user: bob, action: 'added' });
  assert.equal(elsewhere.msg, null);
});

// ---- The timeline ----------------------------------------------------------

test('an updated message replaces its copy in the timeline, and one outside it is not added', () => {
  const { timeline } = addMessages(emptyTimeline(), [message(5, bob), message(6, bob)]);
  const edited = message(6, bob, { body: 'fixed', edited_at: '2024-05-01T12:01:00Z' });
  const replaced = replaceMessage(timeline, edited);
  assert.equal(replaced.replaced, true);
  assert.equal(replaced.timeline.messages.get(6), edited);
  assert.equal(timeline.messages.get(6).body, 'm6', 'the input is left alone');
  const outside = replaceMessage(timeline, message(2, bob));
  assert.equal(outside.replaced, false);
  assert.equal(outside.timeline, timeline);
});

test('removing a message keeps the paging cursor, moves maxId and marks replies to it deleted', () => {
  const { timeline } = addMessages(emptyTimeline(), [
    message(4, bob), message(5, bob), message(6, ana, { reply_to: { id: 5, author: bob, excerpt: 'm5' } }), message(7, bob),
  ]);
  let result = removeMessage(timeline, 5);
  assert.equal(result.removed, true);
  assert.deepEqual(result.replies, [6]);
  assert.deepEqual(result.timeline.messages.get(6).reply_to, { id: 5, deleted: true });
  assert.equal(result.timeline.messages.has(5), false);
  result = removeMessage(result.timeline, 7);
  assert.equal(result.timeline.maxId, 6);
  result = removeMessage(result.timeline, 4);
  assert.equal(result.timeline.minId, 4, 'paging back continues from where the history was loaded');
  assert.equal(removeMessage(result.timeline, 99).removed, false);
});

test('deleting a message older than the loaded history still marks the loaded replies to it deleted', () => {
  const { timeline } = addMessages(emptyTimeline(), [
    message(6, ana, { reply_to: { id: 2, author: bob, excerpt: 'm2' } }), message(7, bob),
  ]);
  const result = removeMessage(timeline, 2);
  assert.equal(result.removed, false, 'it was not held');
  assert.deepEqual(result.replies, [6]);
  assert.deepEqual(result.timeline.messages.get(6).reply_to, { id: 2, deleted: true });
  assert.equal(result.timeline.maxId, 7);
  assert.equal(removeMessage(result.timeline, 2).timeline, result.timeline, 'nothing left to change');
});

test('an edit requotes the replies to it, held or not, and leaves the others alone', () => {
  const { timeline } = addMessages(emptyTimeline(), [
    message(5, bob),
    message(6, ana, { reply_to: { id: 5, author: bob, excerpt: 'm5' } }),
    message(7, ana, { reply_to: { id: 3, author: bob, excerpt: 'm3' } }),
    message(8, ana, { reply_to: { id: 4, deleted: true } }),
  ]);
  const result = requote(timeline, 5, 'fixed');
  assert.deepEqual(result.replies, [6]);
  assert.deepEqual(result.timeline.messages.get(6).reply_to, { id: 5, author: bob, excerpt: 'fixed' });
  assert.equal(timeline.messages.get(6).reply_to.excerpt, 'm5', 'the input is left alone');
  assert.equal(requote(result.timeline, 5, 'fixed').timeline, result.timeline, 'the same excerpt changes nothing');
  assert.deepEqual(requote(timeline, 3, 'older').replies, [7]);
  assert.deepEqual(requote(timeline, 4, 'x').replies, [], 'a deleted quote stays deleted');
});

// ---- Links ----------------------------------------------------------------

test('a copied message link is the room URL with #message-<id>, and reads back', () => {
  assert.equal(messageLink('/rooms/__slug__/', 'café', 42), '/rooms/caf%C3%A9/#message-42');
  assert.equal(messageIdFromHash('#message-42'), 42);
  for (const hash of ['', '#', '#message-', '#message-0', '#message-4x', '#other-4', '#message-99999999999999999999']) {
    assert.equal(messageIdFromHash(hash), null, hash);
  }
});
