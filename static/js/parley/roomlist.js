/* The user's rooms from the server: the list at startup and after changes the events do not settle. */

import { dom } from './dom.js';
import { handleAuthError, logUnexpected, toast } from './notices.js';
import { scheduleRead } from './read.js';
import { renderSidebar } from './sidebar.js';
import { api, state } from './state.js';
import { debounce } from './ui.js';
import { advanceLastRead, markRoomRead } from './unread.js';

export async function loadRooms(signal) {
  const data = await api.get('rooms', null, { signal });
  const rooms = new Map();
  for (const room of data.rooms || []) rooms.set(room.slug, room);
  // A room opened by URL but not listed (should not happen) keeps its header data.
  const view = state.view;
  if (view && view.room && !rooms.has(view.slug)) rooms.set(view.slug, view.room);
  state.rooms = rooms;
  renderSidebar();
  scheduleRead(); // the open room, if read, should not show the server's older count
}

export const refreshRooms = debounce(() => {
  loadRooms().catch((err) => { handleAuthError(err); logUnexpected(err); });
}, 400);

/** "Mark all as read": every room of mine read up to its newest message (POST /api/read-all). */
export async function markAllRead() {
  dom.markAllRead.disabled = true;
  try {
    const data = await api.post('read-all');
    for (const { room: slug, message_id: messageId } of data.read || []) {
      state.lastRead = advanceLastRead(state.lastRead, slug, messageId);
    }
    for (const [slug, room] of state.rooms) {
      if (room.is_member !== false) state.rooms.set(slug, Object.assign(room, markRoomRead(room)));
    }
    renderSidebar();
  } catch (err) {
    if (!handleAuthError(err)) toast(err.message);
  } finally {
    dom.markAllRead.disabled = false;
  }
}
