/*
 * Unread bookkeeping as plain data. A room's `unread_count` comes from the
 * server with the room list and is then kept up to date here: a message
 * nobody saw counts, reading the open room (or reading it in another tab,
 * told by a receipt) clears it. `lastRead` (slug -> newest id marked read)
 * makes sure each read is reported to the server once.
 *
 * `mention_count` (Part 2) counts the unread messages that mention me; it
 * moves with `unread_count` and is absent (read as 0) on older servers.
 */

/** Whether a message mentions me (`mentions` is a list of user ids; absent on older servers). */
export function mentionsMe(msg, meId) {
  return Boolean(msg) && Array.isArray(msg.mentions) && msg.mentions.includes(meId);
}

/**
 * Whether message `id` is unread for me: never when it is mine, else whether
 * it is newer than `lastRead` (the newest id I read); null when that is unknown.
 */
export function isUnread({ id, mine, lastRead }) {
  if (mine) return false;
  if (lastRead === undefined || lastRead === null) return null;
  return id > lastRead;
}

/** Whether the reader saw a message as it arrived. */
export function isSeen({ inView, atBottom, visible }) {
  return Boolean(inView && atBottom && visible);
}

/** The room after a message arrived in it. */
export function countMessage(room, { mine, seen, mentioned = false }) {
  if (mine || seen) return room;
  const next = { ...room, unread_count: (room.unread_count || 0) + 1 };
  if (mentioned) next.mention_count = (room.mention_count || 0) + 1;
  return next;
}

/** The room after an unread message went away (deleted); counts never go below 0. */
export function uncountMessage(room, { mentioned = false } = {}) {
  const next = { ...room, unread_count: Math.max(0, (room.unread_count || 0) - 1) };
  if (mentioned) next.mention_count = Math.max(0, (room.mention_count || 0) - 1);
  return next;
}

/** The room after an edit of an unread message added (+1) or removed (-1) a mention of me. */
export function recountMention(room, delta) {
  if (!delta) return room;
  return { ...room, mention_count: Math.max(0, (room.mention_count || 0) + delta) };
}

/** Whether the room has anything unread to show (messages or mentions). */
export function hasUnread(room) {
  return Boolean(room && (room.unread_count || room.mention_count));
}

/** The room once its messages are read. */
export function markRoomRead(room) {
  return hasUnread(room) ? { ...room, unread_count: 0, mention_count: 0 } : room;
}

/** The room after I read up to `messageId` elsewhere (another tab or device). */
export function readElsewhere(room, messageId) {
  return hasUnread(room) && (room.last_message_id || 0) <= messageId
    ? { ...room, unread_count: 0, mention_count: 0 } : room;
}

/** The unread total of the rooms I am in, for the page title. */
export function totalUnread(rooms) {
  let total = 0;
  for (const room of rooms) {
    if (room.is_member !== false) total += room.unread_count || 0;
  }
  return total;
}

export function pageTitle(total) {
  return total ? `(${total}) Parley` : 'Parley';
}

/** The "@" badge's text: "@" for one mention, "@3" for more. */
export function mentionBadgeText(count) {
  if (!count) return '';
  return count === 1 ? '@' : `@${count > 99 ? '99+' : count}`;
}

export function badgeText(count) {
  return count > 99 ? '99+' : String(count || 0);
}

/** Return `lastRead` with `slug` moved up to `messageId` (never down). */
export function advanceLastRead(lastRead, slug, messageId) {
  const next = new Map(lastRead);
  next.set(slug, Math.max(lastRead.get(slug) || 0, messageId));
  return next;
}

/**
 * What reading `slug` up to `newest` should report: null when the server
 * already has it, else {messageId, previous, lastRead} (previous to restore
 * should the report fail).
 */
export function readReport(lastRead, slug, newest) {
  const previous = lastRead.get(slug) || 0;
  if (!newest || newest <= previous) return null;
  const next = new Map(lastRead);
  next.set(slug, newest);
  return { messageId: newest, previous, lastRead: next };
}
