/* The user's rooms from the server: the list at startup and after changes the events do not settle. */

import { handleAuthError, logUnexpected } from './notices.js';
import { scheduleRead } from './read.js';
import { renderSidebar } from './sidebar.js';
import { api, state } from './state.js';
import { debounce } from './ui.js';

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
