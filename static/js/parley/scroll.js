/* Where the message list is scrolled: at the bottom (following new messages) or not. */

import { dom } from './dom.js';

const AT_BOTTOM_PX = 48;

export function isAtBottom() {
  const box = dom.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < AT_BOTTOM_PX;
}

export function scrollToBottom() {
  dom.messages.scrollTop = dom.messages.scrollHeight;
  dom.jumpNewest.hidden = true;
}

/**
 * Keep the newest message in sight while the list's box shrinks under a
 * reader who follows it: the composer growing with its text, a toast, a
 * reply banner. The browser keeps scrollTop, which would push the newest
 * message out of sight below.
 */
export function followWhenResized() {
  let following = isAtBottom();
  dom.messages.addEventListener('scroll', () => { following = isAtBottom(); }, { passive: true });
  new ResizeObserver(() => {
    if (following) dom.messages.scrollTop = dom.messages.scrollHeight;
    else following = isAtBottom();
  }).observe(dom.messages);
}
