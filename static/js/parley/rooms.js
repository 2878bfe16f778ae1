/*
 * Rooms as plain data: names, order in the sidebar, URLs. `meId` is the
 * reader's user id (a DM is called by the other person's name).
 */

export function otherDmUser(room, meId) {
  const users = room.dm_users || [];
  return users.find((u) => u.id !== meId) || users[0] || null;
}

export function roomTitle(room, meId) {
  if (!room) return '';
  if (room.kind === 'dm') {
    const other = otherDmUser(room, meId);
    return other ? other.display_name : room.name || 'Direct message';
  }
  return room.name;
}

/** The sidebar's two lists: rooms by name, DMs newest first. Rooms I left show only while open. */
export function sidebarRooms(rooms, current, meId) {
  const shown = [...rooms].filter((r) => r.is_member !== false || r.slug === current);
  const byTitle = (a, b) => roomTitle(a, meId).localeCompare(roomTitle(b, meId));
  return {
    rooms: shown.filter((r) => r.kind !== 'dm').sort(byTitle),
    dms: shown.filter((r) => r.kind === 'dm')
      .sort((a, b) => (b.last_message_id || 0) - (a.last_message_id || 0) || byTitle(a, b)),
  };
}

/** The room to open when the open one goes away: rooms before DMs, by name. */
export function firstRoom(rooms, { exclude = null, meId } = {}) {
  const candidates = [...rooms]
    .filter((r) => r.is_member !== false && r.slug !== exclude)
    .sort((a, b) => (a.kind === b.kind ? roomTitle(a, meId).localeCompare(roomTitle(b, meId)) : a.kind === 'room' ? -1 : 1));
  return candidates[0] || null;
}

export function retentionText(room) {
  if (room.is_ephemeral || !room.retention_messages) return '';
  const n = room.retention_messages;
  let text = `This room keeps the newest ${n} message${n === 1 ? '' : 's'}`;
  if (room.retention_days) {
    const d = room.retention_days;
    text += ` and none older than ${d} day${d === 1 ? '' : 's'}`;
  }
  return `${text}.`;
}

/** A room page's URL from the roomUrl template (it may sit under a sub-path). */
export function roomUrl(template, slug, messageId = null) {
  const url = template.replace('__slug__', encodeURIComponent(slug));
  return messageId ? `${url}?message=${encodeURIComponent(messageId)}` : url;
}

/** The slug in a room page's path, using the roomUrl template. */
export function slugFromPath(template, pathname) {
  const [prefix, suffix] = template.split('__slug__');
  if (suffix === undefined || !pathname.startsWith(prefix) || !pathname.endsWith(suffix)) return null;
  const middle = pathname.slice(prefix.length, pathname.length - suffix.length);
  return middle && !middle.includes('/') ? decodeURIComponent(middle) : null;
}

/** The ?message= id of a URL's query string, or null. */
export function messageIdFromSearch(search) {
  const value = Number(new URLSearchParams(search).get('message'));
  return Number.isInteger(value) && value > 0 ? value : null;
}

/** The id of a "#message-<id>" fragment (a copied message link), or null. */
export function messageIdFromHash(hash) {
  const match = /^#message-(\d+)$/.exec(hash || '');
  const value = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** A message's link, as "Copy link" gives it: the room's page with "#message-<id>". */
export function messageLink(template, slug, messageId) {
  return `${roomUrl(template, slug)}#message-${messageId}`;
}
