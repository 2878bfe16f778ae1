/*
 * Unread bookkeeping as plain data. A room's `unread_count` comes from the
 * server with the room list and is then kept up to date here: a message
 * nobody saw counts, reading the open room (or reading it in another tab,
 * told by a receipt) clears it. `lastRead` (slug -> newest id marked read)
 * makes sure each read is reported to the server once.
 */

/** Whether the reader saw a message as it arrived. */
export function isSeen({ inView, atBottom, visible }) {
  return Boolean(inView && atBottom && visible);
}

/** The room after a message arrived in it. */
export function countMessage(room, { mine, seen }) {
  if (mine || seen) return room;
  return { ...room, unread_count: (room.unread_count || 0) + 1 };
}

/** The room once its messages are read. */
export function markRoomRead(room) {
  return room.unread_count ? { ...room, unread_count: 0 } : room;
}

/** The room after I read up to `messageId` elsewhere (another tab or device). */
export function readElsewhere(room, messageId) {
  return room.unread_count && (room.last_message_id || 0) <= messageId ? { ...room, unread_count: 0 } : room;
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
