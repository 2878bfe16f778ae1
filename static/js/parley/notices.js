/* What the page tells the reader: the toast, the room notice, and errors every caller treats alike. */

import { redirectToLogin } from './api.js';
import { dom } from './dom.js';
import { isAtBottom, scrollToBottom } from './scroll.js';
import { el } from './ui.js';

let toastTimer = null;

/** Show `text` for a few seconds above the messages; a reader following the newest keeps them in sight. */
export function toast(text) {
  const following = isAtBottom();
  dom.toast.textContent = text;
  dom.toast.hidden = false;
  if (following) scrollToBottom(); // the toast took its height from the messages' pane
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { dom.toast.hidden = true; }, 5000);
}

export function setNotice(text, kind = 'info', action = null) {
  dom.roomNotice.replaceChildren();
  dom.roomNotice.hidden = !text;
  dom.roomNotice.className = `room-notice ${kind}`;
  if (text) dom.roomNotice.append(el('span', { text }), action || '');
}

/** Handle the failures every caller treats alike; return true when handled. */
export function handleAuthError(err) {
  if (err && (err.status === 401 || err.code === 'pending_approval')) {
    redirectToLogin();
    return true;
  }
  return false;
}

export function logUnexpected(err) {
  if (err && err.name !== 'AbortError' && err.name !== 'ApiError') console.error(err); // eslint-disable-line no-console
}
