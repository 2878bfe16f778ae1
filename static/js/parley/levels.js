/*
 * Notification levels as plain data (issue 14). Each room I am in has my own
 * level, `room.notify`: "all", "mentions", "none" (muted), or null for my
 * default (User.notify_default). These rules decide what notifies, what is
 * bold in the room list and what the page title counts; the page only asks.
 */

export const LEVELS = ['all', 'mentions', 'none'];

export const LEVEL_LABELS = {
  all: 'All messages',
  mentions: 'Mentions only',
  none: 'Nothing (muted)',
};

const known = (level) => LEVELS.includes(level);

/** My level in `room`: its own, else my default, else "all". */
export function levelOf(room, defaultLevel = 'all') {
  if (room && known(room.notify)) return room.notify;
  return known(defaultLevel) ? defaultLevel : 'all';
}

export function isMuted(room, defaultLevel) {
  return levelOf(room, defaultLevel) === 'none';
}

/**
 * Whether a message should notify (a browser notification, and the sound if on):
 * never my own, never one in the room I am looking at in a focused tab, never
 * in a muted room; at "mentions", only one that mentions me.
 */
export function shouldNotify({ level, mine = false, mentioned = false, inView = false, focused = false }) {
  if (mine) return false;
  if (inView && focused) return false;
  if (level === 'none') return false;
  if (level === 'mentions') return Boolean(mentioned);
  return level === 'all';
}

/** Whether the room list shows the room in bold: I am in it, it has unread messages, and it is not muted. */
export function isBold(room, defaultLevel) {
  return Boolean(room) && room.is_member !== false && Boolean(room.unread_count) && !isMuted(room, defaultLevel);
}

/** The unread count the room list shows next to the room: none for a muted room (its "@" badge stays). */
export function shownUnread(room, defaultLevel) {
  return !room || isMuted(room, defaultLevel) ? 0 : room.unread_count || 0;
}

/** The page title's count: unread messages of the rooms I am in; of a muted room, only its mentions. */
export function titleCount(rooms, defaultLevel) {
  let total = 0;
  for (const room of rooms) {
    if (room.is_member === false) continue;
    total += isMuted(room, defaultLevel) ? room.mention_count || 0 : room.unread_count || 0;
  }
  return total;
}

/** What the room's bell button says: its level in a word. */
export function bellText(room, defaultLevel) {
  const level = levelOf(room, defaultLevel);
  return level === 'none' ? 'Muted' : level === 'mentions' ? 'Mentions' : 'All';
}
