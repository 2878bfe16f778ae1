/*
 * What a server event does to the client's data, as plain data in and out.
 * dispatch.js feeds events here and then updates the page from the answer,
 * so these rules can be tested without a browser.
 *
 * `rooms` is a Map slug -> room (API.md, plus is_member). A function never
 * changes what it is given; it returns the rooms (or room) to store.
 */

import { reactToMessage } from './reactions.js';
import {
  advanceLastRead, countMessage, hasUnread, isSeen, isUnread, mentionsMe, readElsewhere, recountMention, uncountMessage,
} from './unread.js';

/**
 * A `message` event. `view` describes the open room: {slug, known(id),
 * atBottom, visible}, or null. `pending` tells whether a client_id is one of
 * my sends still waiting for the server's answer.
 *
 * Return {slug, msg, mine, confirm, rooms, refreshRooms, show, counted,
 * notify, resort}: confirm means "this is my pending send: replace it";
 * show means "append it to the open room"; counted means the room's unread
 * count went up; a message already in the open room (it came twice) is
 * neither shown, counted nor notified again, and one the room's count has
 * already (its id is not past the room's last_message_id) is not counted again.
 */
export function applyMessage({ meId, rooms, view = null, pending = () => false }, event) {
  const msg = event.message;
  const slug = event.room || msg.room;
  const mine = msg.author.id === meId;
  const result = {
    slug, msg, mine, confirm: false, rooms, refreshRooms: false, show: false, counted: false, notify: false, resort: false,
  };
  if (mine && msg.client_id && pending(msg.client_id)) return { ...result, confirm: true };

  const inView = Boolean(view && view.slug === slug);
  const duplicate = inView && view.known(msg.id);
  let room = rooms.get(slug);
  // Ids grow in commit order within a room (every write takes the stream position first), so a
  // message at or below the room's last_message_id is in its count already: the room list was
  // read after it was stored (its event was still on the way), or it came twice.
  const inCount = Boolean(room) && msg.id <= (room.last_message_id || 0);
  if (room) room = { ...room, last_message_id: Math.max(room.last_message_id || 0, msg.id) };
  const show = inView && !duplicate;
  let counted = false;
  let notify = false;
  if (room && !mine && !duplicate) {
    if (!inCount) {
      const seen = isSeen({ inView, atBottom: view && view.atBottom, visible: view && view.visible });
      const after = countMessage(room, { mine, seen, mentioned: mentionsMe(msg, meId) });
      counted = after !== room;
      room = after;
    }
    notify = true; // the room list counted it, but this event is the first the page hears of it
  }
  let nextRooms = rooms;
  if (room) {
    nextRooms = new Map(rooms);
    nextRooms.set(slug, room);
  }
  return {
    ...result,
    rooms: nextRooms,
    refreshRooms: !room, // a room I just got into
    show,
    counted,
    notify,
    resort: Boolean(room && room.kind === 'dm'), // DMs are ordered by recency
  };
}

/** Rooms with `room` stored under `slug` (a new Map; the input is left alone). */
function withRoom(rooms, slug, room) {
  const next = new Map(rooms);
  next.set(slug, room);
  return next;
}

/**
 * A `message_updated` event (an edit, or any change the server sends whole).
 * `known(id)` returns the copy the client holds, or null; `lastRead` is the
 * Map slug -> newest id I read. Return {slug, msg, rooms, refreshRooms}: the
 * message to put in place of the old one, and the rooms, whose mention_count
 * moves when an edit of an unread message adds or removes a mention of me.
 * refreshRooms asks the server when the client cannot tell.
 */
export function applyMessageUpdated({ meId, rooms, lastRead = new Map(), known = () => null }, event) {
  const msg = event.message;
  const slug = event.room || msg.room;
  const result = { slug, msg, rooms, refreshRooms: false };
  const room = rooms.get(slug);
  if (!room) return result;
  const previous = known(msg.id);
  const after = mentionsMe(msg, meId);
  const unread = isUnread({ id: msg.id, mine: msg.author && msg.author.id === meId, lastRead: lastRead.get(slug) });
  if (unread === false) return result;
  if (!previous) {
    // Whether it mentioned me before is unknown: only the server can say, and only if it matters.
    return { ...result, refreshRooms: after || Boolean(room.mention_count) };
  }
  const delta = Number(after) - Number(mentionsMe(previous, meId));
  if (!delta) return result;
  if (unread === null) return { ...result, refreshRooms: true };
  return { ...result, rooms: withRoom(rooms, slug, recountMention(room, delta)) };
}

/**
 * A `message_deleted` event. Return {id, slug, rooms, refreshRooms}: a
 * deleted message that was unread lowers its room's unread count (and the
 * mention count, if it mentioned me). When the client does not hold the
 * message or does not know what I read, it asks the server (refreshRooms),
 * but only if some count could be wrong.
 */
export function applyMessageDeleted({ meId, rooms, lastRead = new Map(), known = () => null }, event) {
  const id = event.message_id;
  const previous = known(id);
  const slug = event.room || (previous && previous.room) || null;
  const result = { id, slug, rooms, refreshRooms: false };
  if (!slug) return { ...result, refreshRooms: [...rooms.values()].some(hasUnread) };
  const room = rooms.get(slug);
  if (!room) return result;
  const wasLast = room.last_message_id === id; // the server knows the new last one
  if (!hasUnread(room)) return { ...result, refreshRooms: wasLast };
  if (!previous) return { ...result, refreshRooms: true };
  const unread = isUnread({ id, mine: previous.author && previous.author.id === meId, lastRead: lastRead.get(slug) });
  if (unread === null) return { ...result, refreshRooms: true };
  if (!unread) return { ...result, refreshRooms: wasLast };
  const after = uncountMessage(room, { mentioned: mentionsMe(previous, meId) });
  return { ...result, rooms: withRoom(rooms, slug, after), refreshRooms: wasLast };
}

/**
 * A `reaction` event. Return {id, msg}: the message with the change applied,
 * or msg null when the client does not hold it (nothing to redraw).
 */
export function applyReaction({ known = () => null }, event) {
  const id = event.message_id;
  const previous = known(id);
  if (!previous || !event.user) return { id, msg: null };
  const msg = reactToMessage(previous, { emoji: event.emoji, userId: event.user.id, action: event.action });
  return { id, msg: msg === previous ? null : msg };
}

/**
 * A `room` event (created, joined, left, invited, changed...). Return null
 * when it names no room, {slug, left: true} when I left it, else {slug,
 * room, rooms}: the room as it now stands and the rooms to store.
 */
export function applyRoomEvent({ meId, rooms }, event) {
  const data = event.data || {};
  const slug = event.room || data.slug;
  if (!slug) return null;
  const aboutMe = Boolean(event.user && event.user.id === meId);
  const old = rooms.get(slug);
  if (aboutMe && event.action === 'left') return { slug, left: true, known: Boolean(old), rooms };

  let isMember = old ? old.is_member : data.is_member;
  if (aboutMe && ['joined', 'created', 'invited'].includes(event.action)) isMember = true;
  // Events about a private room or a DM only reach its members.
  if (isMember === undefined && (data.is_private || data.kind === 'dm')) isMember = true;
  const room = {
    ...old,
    ...data,
    unread_count: old ? old.unread_count : data.unread_count || 0,
    is_member: isMember,
  };
  let nextRooms = rooms;
  if (isMember || old) {
    nextRooms = new Map(rooms);
    nextRooms.set(slug, room);
  }
  return { slug, left: false, room, rooms: nextRooms };
}

/**
 * A `receipt` event. Mine (read in another tab or device): return {mine:
 * true, lastRead, rooms, cleared}. Someone else's: {mine: false, room,
 * userId, messageId} for the open room's "Seen by".
 */
export function applyReceipt({ meId, rooms, lastRead }, event) {
  if (event.user.id !== meId) {
    return { mine: false, room: event.room, userId: event.user.id, messageId: event.message_id };
  }
  const nextLastRead = advanceLastRead(lastRead, event.room, event.message_id);
  const room = rooms.get(event.room);
  const after = room ? readElsewhere(room, event.message_id) : room;
  if (!room || after === room) return { mine: true, lastRead: nextLastRead, rooms, cleared: false };
  const nextRooms = new Map(rooms);
  nextRooms.set(event.room, after);
  return { mine: true, lastRead: nextLastRead, rooms: nextRooms, cleared: true };
}

/** A `presence` event: the user id and what to merge into that member. */
export function applyPresence(event) {
  return { userId: event.user.id, live: { presence: event.status, last_seen: event.last_seen } };
}
