/*
 * Writing and sending. Sends are optimistic: a message shows as pending at
 * once, carries a client_id, and is retried with the same client_id until
 * the server answers; the answer or the `message` event (whichever comes
 * first) replaces the pending copy.
 *
 * The composer's keys go through onComposerKeydown: handlers registered with
 * addComposerKeyHandler run first (the @-mention and :shortcode popup of
 * autocomplete.js plugs in there, to take arrows, Enter, Tab and Esc while
 * its list is open), then Enter sends, Up in an empty composer edits my last
 * message, and Esc cancels a reply.
 */

import { newClientId, sleep } from './api.js';
import { Backoff } from './backoff.js';
import { isBlank } from './blank.js';
import { dom } from './dom.js';
import { editLastMine } from './editor.js';
import { addToView, appendGrouped, messageNode, redrawMessages } from './messages.js';
import { handleAuthError, logUnexpected, toast } from './notices.js';
import { scheduleRead } from './read.js';
import { cancelReply } from './reply.js';
import { canSend } from './room.js';
import { scrollToBottom } from './scroll.js';
import { api, MAX_CHARS, me, roomPath, state } from './state.js';
import { el } from './ui.js';
import { pendingUploads, renderSendButton, takeUploads, uploadsBusy } from './uploads.js';

function charCount(text) {
  return Array.from(text).length;
}

export function updateComposer() {
  const count = charCount(dom.composer.value.trim());
  dom.charCount.textContent = count ? `${count} / ${MAX_CHARS}` : '';
  dom.charCount.classList.toggle('over', count > MAX_CHARS);
  const lines = dom.composer.value.split('\n').length;
  dom.composer.rows = Math.min(8, Math.max(1, lines));
  renderSendButton(canSend(state.view));
}

export function submitComposer() {
  const view = state.view;
  if (!canSend(view)) return;
  const body = dom.composer.value.trim();
  if (uploadsBusy()) {
    toast('Your files are still uploading; Send works once they are done.');
    return;
  }
  const hasFiles = pendingUploads().some((item) => item.status === 'done');
  if (isBlank(body) && !hasFiles) return; // Send is disabled too: the server refuses it
  if (charCount(body) > MAX_CHARS) {
    toast(`Messages can be at most ${MAX_CHARS} characters.`);
    return;
  }
  const attachments = takeUploads();
  dom.composer.value = '';
  updateComposer();
  view.lastTypingSent = 0;
  sendMessage(view.slug, body, view.replyTo, attachments);
  cancelReply(view);
}

const keyHandlers = [];

/**
 * Register `handler(event, composer)` for the composer's keydown, ahead of the
 * built-in keys; it returns true when it took the key (and then calls
 * preventDefault itself). Return a function that removes it.
 */
export function addComposerKeyHandler(handler) {
  keyHandlers.push(handler);
  return () => {
    const index = keyHandlers.indexOf(handler);
    if (index > -1) keyHandlers.splice(index, 1);
  };
}

export function onComposerKeydown(event) {
  for (const handler of keyHandlers) {
    if (handler(event, dom.composer)) return;
  }
  if (event.isComposing || event.keyCode === 229) return; // an input method is composing
  const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    submitComposer();
  } else if (event.key === 'ArrowUp' && plain && !dom.composer.value) {
    if (editLastMine(state.view)) event.preventDefault();
  } else if (event.key === 'Escape' && cancelReply(state.view)) {
    event.preventDefault();
  }
}

function setPendingStatus(p, text, kind) {
  p.el.classList.remove('sending', 'retrying', 'failed');
  p.el.classList.add(kind);
  const status = p.el.querySelector('.status');
  status.replaceChildren(el('span', { text }));
  if (kind === 'failed') {
    const retry = el('button', { type: 'button', className: 'link-button', text: 'Retry' });
    const discard = el('button', { type: 'button', className: 'link-button', text: 'Discard' });
    retry.addEventListener('click', () => {
      setPendingStatus(p, 'Sending…', 'sending');
      queueDelivery(p);
    });
    discard.addEventListener('click', () => {
      state.pending.delete(p.clientId);
      p.el.remove();
    });
    status.append(' ', retry, ' ', discard);
  }
}

function sendMessage(slug, body, replyTo = null, attachments = []) {
  const p = {
    clientId: newClientId(),
    room: slug,
    body,
    replyTo,
    attachments, // upload objects, shown in the pending copy; their ids are sent
    createdAt: new Date().toISOString(),
    el: null,
  };
  p.el = messageNode({
    author: me, body, created_at: p.createdAt, reply_to: replyTo, attachments,
  }, 'mine pending');
  p.el.dataset.clientId = p.clientId;
  p.el.dataset.authorId = me.id;
  p.el.querySelector('.message-main').append(el('div', { className: 'status', role: 'status' }));
  setPendingStatus(p, 'Sending…', 'sending');
  state.pending.set(p.clientId, p);
  if (state.view && state.view.slug === slug) {
    appendGrouped(p.el, me.id, p.createdAt);
    scrollToBottom();
  }
  queueDelivery(p);
}

/** Sends go one at a time, so messages keep the order they were written in. */
function queueDelivery(p) {
  // After the typing notice still in flight, if any: should the message reach the server
  // first, the others would see "… is typing" for seconds after the message itself.
  const typing = state.typingSent;
  state.sendQueue = state.sendQueue.then(() => typing).then(() => deliver(p)).catch(logUnexpected);
}

async function deliver(p) {
  const backoff = new Backoff();
  while (state.pending.get(p.clientId) === p) {
    try {
      const payload = { body: p.body, client_id: p.clientId };
      if (p.replyTo) payload.reply_to = p.replyTo.id;
      if (p.attachments.length) payload.attachments = p.attachments.map((upload) => upload.id);
      const data = await api.post(roomPath(p.room, '/messages'), payload);
      confirmSent(data.message, p.room);
      return;
    } catch (err) {
      if (state.pending.get(p.clientId) !== p) return; // the event confirmed it meanwhile
      if (handleAuthError(err)) return;
      if (!err.retryable) {
        setPendingStatus(p, `Not sent: ${err.message}`, 'failed');
        return;
      }
      setPendingStatus(p, 'Not sent yet, retrying…', 'retrying');
      await sleep(backoff.next(err.retryAfter), state.wake.signal);
      if (state.pending.get(p.clientId) === p) setPendingStatus(p, 'Sending…', 'sending');
    }
  }
}

/** The server has the message: drop the pending copy and show the real one (once). */
export function confirmSent(msg, slug = msg.room) {
  const p = msg.client_id ? state.pending.get(msg.client_id) : null;
  const wasShown = p && p.el.isConnected;
  if (p) {
    state.pending.delete(msg.client_id);
    p.el.remove();
  }
  const view = state.view;
  const room = state.rooms.get(slug);
  if (room) room.last_message_id = Math.max(room.last_message_id || 0, msg.id);
  if (view && view.slug === slug) {
    const top = dom.messages.scrollTop;
    if (addToView(view, [msg])) redrawMessages(view);
    dom.messages.scrollTop = top;
    if (wasShown) scrollToBottom();
    scheduleRead();
  }
}
