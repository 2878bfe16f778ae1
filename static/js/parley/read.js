/* Read receipts: tell the server what the reader has seen, and clear the open room's badge. */

import { handleAuthError } from './notices.js';
import { isAtBottom } from './scroll.js';
import { updateUnread } from './sidebar.js';
import { api, roomPath, state, storeRooms } from './state.js';
import { debounce } from './ui.js';
import { hasUnread, markRoomRead, readReport } from './unread.js';

const READ_DEBOUNCE_MS = 400;

export const scheduleRead = debounce(() => markRead(), READ_DEBOUNCE_MS);

/** Report the newest message of the open room as read, once it is on screen. */
export function markRead() {
  const view = state.view;
  if (!view || !view.historyLoaded || !view.room || view.room.is_member === false) return;
  if (document.visibilityState !== 'visible' || !isAtBottom()) return;
  const room = state.rooms.get(view.slug);
  if (hasUnread(room)) {
    storeRooms(new Map([[view.slug, markRoomRead(room)]]));
    updateUnread(view.slug);
  }
  const report = readReport(state.lastRead, view.slug, view.maxId);
  if (!report) return;
  state.lastRead = report.lastRead;
  api.post(roomPath(view.slug, '/read'), { message_id: report.messageId }).catch((err) => {
    if (handleAuthError(err)) return;
    if (state.lastRead.get(view.slug) === report.messageId) state.lastRead.set(view.slug, report.previous); // try again later
  });
}
