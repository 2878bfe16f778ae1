/*
 * What a message's buttons do: reply, react, edit, delete, copy link, the
 * reaction chips and the reply quote. One delegated listener on the list
 * (messages.js only draws the buttons), plus the keyboard and touch rules:
 * a message takes the focus (Tab, click or tap) and then shows its action
 * bar, whose buttons join the tab order; Up and Down move between messages.
 */

import { confirmAction } from './confirm.js';
import { dom } from './dom.js';
import { startEdit } from './editor.js';
import { removeMessageFromView, revealMessage, updateMessageInView } from './messages.js';
import { handleAuthError, logUnexpected, toast } from './notices.js';
import { closeReactionPicker, openReactionPicker } from './picker.js';
import { hasReacted, reactToMessage } from './reactions.js';
import { startReply } from './reply.js';
import { messageLink } from './rooms.js';
import { api, config, me, state } from './state.js';

const MESSAGE = 'li.message[data-id]';

function messageOf(target) {
  const li = target.closest(MESSAGE);
  const view = state.view;
  if (!li || !view) return null;
  const msg = view.messages.get(Number(li.dataset.id));
  return msg ? { li, view, msg } : null;
}

// ---- Reactions -------------------------------------------------------------

/** Add or take back my `emoji` on `msg`: shown at once, undone if the server refuses. */
export async function toggleReaction(view, msg, emoji) {
  const action = hasReacted(msg.reactions, emoji, me.id) ? 'removed' : 'added';
  const undo = action === 'added' ? 'removed' : 'added';
  const current = () => view.messages.get(msg.id);
  updateMessageInView(view, reactToMessage(msg, { emoji, userId: me.id, action }));
  try {
    if (action === 'added') {
      const data = await api.post(`messages/${msg.id}/reactions`, { emoji });
      if (data && data.message && current()) updateMessageInView(view, data.message);
    } else {
      await api.del(`messages/${msg.id}/reactions/${encodeURIComponent(emoji)}`);
    }
  } catch (err) {
    if (handleAuthError(err)) return;
    logUnexpected(err);
    if (current()) updateMessageInView(view, reactToMessage(current(), { emoji, userId: me.id, action: undo }));
    toast(err.status === 404 ? 'That message no longer exists.' : `Could not react: ${err.message}`);
  }
}

function react({ li, view, msg }, button) {
  openReactionPicker({
    anchor: li,
    onPick: (emoji) => {
      const latest = view.messages.get(msg.id);
      if (latest && !hasReacted(latest.reactions, emoji, me.id)) toggleReaction(view, latest, emoji);
      const again = view.elements.get(msg.id);
      if (again && again.isConnected) again.focus({ preventScroll: true });
    },
    onClose: () => { if (button.isConnected && li.contains(document.activeElement) === false) button.focus({ preventScroll: true }); },
  });
}

// ---- Delete and copy link ----------------------------------------------------

async function deleteMessage({ view, msg }) {
  const whose = msg.author.id === me.id ? 'your message' : `this message by ${msg.author.display_name}`;
  if (!(await confirmAction(`Delete ${whose}? Everyone in the room will stop seeing it. This cannot be undone.`))) return;
  try {
    await api.del(`messages/${msg.id}`);
    removeMessageFromView(view, msg.id); // the message_deleted event does the same for everyone else
  } catch (err) {
    if (handleAuthError(err)) return;
    logUnexpected(err);
    if (err.status === 404) {
      removeMessageFromView(view, msg.id);
      toast('That message was already deleted.');
    } else {
      toast(err.status === 403 ? 'You can only delete your own messages.' : `Could not delete: ${err.message}`);
    }
  }
}

async function copyLink({ view, msg }) {
  const url = new URL(messageLink(config.roomUrl, view.slug, msg.id), window.location.href).href;
  try {
    await navigator.clipboard.writeText(url);
    toast('Link copied.');
  } catch (err) {
    toast(`Copy this link: ${url}`); // no clipboard (an insecure origin, or refused)
  }
}

// ---- Wiring --------------------------------------------------------------------

const ACTIONS = {
  reply: ({ view, msg }) => startReply(view, msg),
  react: (target, button) => react(target, button),
  edit: ({ view, msg }) => startEdit(view, msg.id),
  delete: (target) => deleteMessage(target),
  'copy-link': (target) => copyLink(target),
  'toggle-reaction': ({ view, msg }, button) => toggleReaction(view, msg, button.dataset.emoji),
  'jump-reply': ({ view }, button) => revealMessage(view, Number(button.dataset.replyId)),
};

function setBarReachable(li, reachable) {
  for (const button of li.querySelectorAll('.message-actions button')) button.tabIndex = reachable ? 0 : -1;
}

function onClick(event) {
  const button = event.target.closest('button[data-action]');
  const target = messageOf(event.target);
  if (!target) return;
  if (button && ACTIONS[button.dataset.action] && target.li.contains(button)) {
    event.preventDefault();
    ACTIONS[button.dataset.action](target, button);
    return;
  }
  // A tap (touch screens have no hover) shows the bar; tapping elsewhere moves it.
  if (event.target.closest('a, button, textarea, input')) return;
  for (const shown of dom.messages.querySelectorAll('.message.show-actions')) {
    if (shown !== target.li) shown.classList.remove('show-actions');
  }
  target.li.classList.add('show-actions');
}

function onFocusIn(event) {
  const li = event.target.closest(MESSAGE);
  if (li) setBarReachable(li, true);
}

function onFocusOut(event) {
  const li = event.target.closest(MESSAGE);
  if (!li || (event.relatedTarget && li.contains(event.relatedTarget))) return;
  setBarReachable(li, false);
  li.classList.remove('show-actions');
}

function onKeydown(event) {
  const li = event.target.closest(MESSAGE);
  if (event.target === dom.messages && (event.key === 'ArrowUp' || event.key === 'End')) {
    // From the list itself, the arrow key enters at the newest message.
    const items = dom.messages.querySelectorAll(MESSAGE);
    if (items.length) {
      event.preventDefault();
      items[items.length - 1].focus();
    }
    return;
  }
  if (!li || event.target !== li) {
    if (li && event.key === 'Escape' && event.target.closest('.message-actions')) {
      li.focus(); // out of the bar, back to its message
    }
    return;
  }
  const items = [...dom.messages.querySelectorAll(MESSAGE)];
  const index = items.indexOf(li);
  const go = { ArrowUp: index - 1, ArrowDown: index + 1, Home: 0, End: items.length - 1 }[event.key];
  if (go !== undefined) {
    event.preventDefault();
    if (items[go]) items[go].focus();
    return;
  }
  const target = messageOf(li);
  if (!target) return;
  // One-key shortcuts on a focused message, as in Zulip: r reply, e edit, + react.
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const shortcut = { r: 'reply', e: 'edit', '+': 'react' }[event.key];
  const button = shortcut && li.querySelector(`.message-actions [data-action="${shortcut}"]`);
  if (button) {
    event.preventDefault();
    ACTIONS[shortcut](target, button);
  }
}

/** Listen on the message list (once, at startup). */
export function bindMessageActions() {
  dom.messages.addEventListener('click', onClick);
  dom.messages.addEventListener('focusin', onFocusIn);
  dom.messages.addEventListener('focusout', onFocusOut);
  dom.messages.addEventListener('keydown', onKeydown);
  document.addEventListener('pointerdown', (event) => {
    if (dom.messages.contains(event.target)) return;
    for (const shown of dom.messages.querySelectorAll('.message.show-actions')) shown.classList.remove('show-actions');
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeReactionPicker();
  });
}
