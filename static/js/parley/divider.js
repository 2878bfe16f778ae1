/*
 * The "New messages" line (issue 14): where it goes when a room opens. It is
 * placed once, from the read mark the room had when it opened, and stays
 * until the reader leaves the room, however much they read meanwhile.
 */

/**
 * The id of the first message I have not read: the oldest one after `lastRead`
 * that is not mine. Null when there is none, or when the mark is unknown (I am
 * not a member).
 */
export function firstUnreadId(messages, { lastRead, meId }) {
  if (lastRead === null || lastRead === undefined) return null;
  let first = null;
  for (const msg of messages) {
    if (msg.id <= lastRead || (msg.author && msg.author.id === meId)) continue;
    if (first === null || msg.id < first) first = msg.id;
  }
  return first;
}

/**
 * Whether the first unread message may be older than the loaded page, so that
 * paging back is needed to put the line in its place: the oldest message loaded
 * is unread and there is older history. (Message ids grow across all rooms, so
 * an id right after the mark proves nothing is missing in between.)
 */
export function needsOlder({ minId, hasMore, lastRead }) {
  if (lastRead === null || lastRead === undefined || !hasMore || minId === null || minId === undefined) return false;
  return minId > lastRead + 1;
}

/** Where an opening room scrolls to: the linked message, else the "New messages" line, else the bottom. */
export function openingScroll({ focusId = null, dividerId = null }) {
  if (focusId) return 'message';
  return dividerId ? 'divider' : 'bottom';
}
