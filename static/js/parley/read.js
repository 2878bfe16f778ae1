/* Read receipts: tell the server what the reader has seen, and clear the open room's badge. */

import { handleAuthError } from './notices.js';
import { isAtBottom } from './scroll.js';
import { updateUnread } from './sidebar.js';
import { api, roomPath, state, storeRooms } from './state.js';
import { debounce } from './ui.js';
import { hasUnread, markRoomRead, readReport } from './unread.js';

const READ_DEBOUNCE_MS = 400;

let readDue = false; // a read is waiting in the debounce
const debouncedRead = debounce(() => {
  readDue = false;
  markRead();
}, READ_DEBOUNCE_MS);

export function scheduleRead() {
  readDue = true;
  debouncedRead();
}
scheduleRead.cancel = () => {
  readDue = false;
  debouncedRead.cancel();
};

/**
 * The page is going away (another page, a reload, a closed tab) or out of
 * sight: report now the read the debounce holds, or it is lost. `wasVisible`:
 * the reader was looking until now (pagehide comes before the page is
 * hidden; visibilitychange comes after). The request outlives the page.
 */
export function flushRead({ wasVisible }) {
  if (!readDue) return;
  scheduleRead.cancel();
  if (wasVisible) markRead({ visible: true, keepalive: true });
}

/** Report the newest message of the open room as read, once it is on screen. */
export function markRead({ visible = document.visibilityState === 'visible', keepalive = false } = {}) {
  const view = state.view;
  if (!view || !view.historyLoaded || !view.room || view.room.is_member === false) return;
  if (!visible || !isAtBottom()) return;
  const room = state.rooms.get(view.slug);
  if (hasUnread(room)) {
    storeRooms(new Map([[view.slug, markRoomRead(room)]]));
    updateUnread(view.slug);
  }
  const report = readReport(state.lastRead, view.slug, view.maxId);
  if (!report) return;
  state.lastRead = report.lastRead;
  api.post(roomPath(view.slug, '/read'), { message_id: report.messageId }, { keepalive }).catch((err) => {
    if (handleAuthError(err)) return;
    if (state.lastRead.get(view.slug) === report.messageId) state.lastRead.set(view.slug, report.previous); // try again later
  });
}
