/* Answering one message: the composer's "Replying to <name>: excerpt" line, kept per open room. */

import { dom } from './dom.js';
import { textOrFiles } from './files.js';
import { excerptOf } from './messages.js';
import { plainText } from './richtext.js';
import { state } from './state.js';

function render(view) {
  const reply = view && view.replyTo;
  dom.replyBanner.hidden = !reply;
  dom.replyAuthor.textContent = reply ? reply.author.display_name : '';
  dom.replyExcerpt.textContent = reply ? reply.excerpt : '';
  dom.composer.setAttribute('aria-describedby', reply ? 'reply-banner' : '');
  if (!reply) dom.composer.removeAttribute('aria-describedby');
}

/** Answer message `msg` of the open room with the next message sent. */
export function startReply(view, msg) {
  view.replyTo = { id: msg.id, author: msg.author, excerpt: excerptOf(textOrFiles(plainText(msg), msg.attachments), 80) };
  render(view);
  dom.composer.focus();
}

/** Forget the reply (sent, cancelled with Esc or ×, or its message deleted); true if there was one. */
export function cancelReply(view = state.view) {
  if (!view || !view.replyTo) return false;
  view.replyTo = null;
  render(view);
  return true;
}

/** Draw the open room's reply line (after switching rooms). */
export function renderReply() {
  render(state.view);
}
