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
