/*
 * The open room's message list: drawing it, following live messages,
 * paging back, jumping to a message, updating or removing one in place, and
 * "Seen by" in a DM. Which messages there are is timeline.js's business;
 * this module only shows them. What the buttons of a message do is
 * actions.js's: here they are only drawn, with data-action attributes.
 */

import { sleep } from './api.js';
import { attachmentList } from './attachments.js';
import { needsOlder } from './divider.js';
import { dom } from './dom.js';
import { quietRegion } from './livelog.js';
import { handleAuthError, logUnexpected, toast } from './notices.js';
import { reactionChips } from './reactions.js';
import { scheduleRead } from './read.js';
import { isRich, messageText, plainText } from './richtext.js';
import { isAtBottom, scrollToBottom } from './scroll.js';
import { api, me, nameOf, rememberPeople, roomPath, state } from './state.js';
import {
  addMessages, continues, inOrder, removeMessage, replaceMessage, requote,
} from './timeline.js';
import { avatar, botTag, clock, dayKey, dayLabel, el, truncate } from './ui.js';
import { mentionsMe } from './unread.js';

const HISTORY_PAGE = 50;
const REVEAL_PAGE = 200; // bigger pages when paging back to a search result
const EXCERPT_CHARS = 120;
const REPLY_EXCERPT_CHARS = 140; // the server's EXCERPT_CHARS

/** Record messages in the view; false if they were all there already. */
export function addToView(view, messages) {
  const { timeline, added } = addMessages(view, messages);
  Object.assign(view, timeline);
  return added.length > 0;
}

/** A message's text on one line, cut short: for reply quotes and the composer's "Replying to". */
export function excerptOf(text, max = EXCERPT_CHARS) {
  return truncate(String(text || '').replace(/\s+/g, ' ').trim(), max);
}

/** The quote above a reply: who and what it answers (a button that jumps there), or "message deleted". */
function replyQuote(replyTo) {
  if (!replyTo) return null;
  if (replyTo.deleted || !replyTo.author) {
    return el('div', { className: 'reply-quote deleted' }, [
      el('span', { className: 'reply-icon', text: '↩', 'aria-hidden': 'true' }),
      el('span', { className: 'reply-excerpt', text: 'message deleted' }),
    ]);
  }
  return el('button', {
    type: 'button',
    className: 'reply-quote',
    dataset: { action: 'jump-reply', replyId: replyTo.id },
    title: 'Show the message this replies to',
  }, [
    el('span', { className: 'reply-icon', text: '↩', 'aria-hidden': 'true' }),
    el('span', { className: 'reply-author', text: replyTo.author.display_name }),
    el('span', { className: 'reply-excerpt', text: replyTo.excerpt || '' }),
  ]);
}

function editedMarker(editedAt) {
  if (!editedAt) return null;
  const when = new Date(editedAt);
  return el('span', { className: 'edited', title: `Edited ${when.toLocaleString()}`, text: '(edited)' });
}

/** The reaction chips: "👍 3", mine pressed, who reacted in the tooltip; click toggles (actions.js). */
export function reactionRow(msg, { canReact = true } = {}) {
  const chips = reactionChips(msg.reactions, { meId: me.id, nameOf });
  if (!chips.length) return null;
  return el('div', { className: 'reactions' }, [
    ...chips.map((chip) => el('button', {
      type: 'button',
      className: `reaction${chip.mine ? ' mine' : ''}`,
      dataset: { action: 'toggle-reaction', emoji: chip.emoji },
      'aria-pressed': String(chip.mine),
      'aria-label': `${chip.emoji} ${chip.count}: ${chip.label}`, // starts with what it shows (WCAG 2.5.3)
      title: chip.label,
      disabled: !canReact,
    }, [
      el('span', { className: 'reaction-emoji', text: chip.emoji, 'aria-hidden': 'true' }),
      el('span', { className: 'reaction-count', text: String(chip.count), 'aria-hidden': 'true' }),
    ])),
    canReact ? el('button', {
      type: 'button', className: 'reaction add', dataset: { action: 'react' }, 'aria-label': 'Add a reaction', title: 'Add a reaction',
    }, [el('span', { className: 'reaction-emoji', text: '+', 'aria-hidden': 'true' })]) : null,
  ]);
}

// The icons are CSS masks of static/img/icons/<action>.svg (no emoji font needed, no inline SVG).
const ACTION_LABELS = {
  reply: 'Reply',
  react: 'Add a reaction',
  edit: 'Edit',
  delete: 'Delete',
  'copy-link': 'Copy link to this message',
};

/**
 * The action bar, shown on hover, on keyboard focus and on tap (CSS). Its
 * buttons stay out of the tab order until their message has the focus
 * (actions.js), so Tab walks message by message.
 */
function actionBar(msg, view) {
  const member = !(view.room && view.room.is_member === false);
  const mine = msg.author.id === me.id;
  const shown = [
    member && 'reply',
    member && 'react',
    member && mine && 'edit',
    (mine || me.is_staff) && 'delete', // the server decides in the end (403 otherwise)
    'copy-link',
  ].filter(Boolean);
  return el('div', { className: 'message-actions', role: 'toolbar', 'aria-label': 'Message actions' }, shown.map((action) => el('button', {
    type: 'button',
    className: `message-action ${action}`,
    dataset: { action },
    'aria-label': ACTION_LABELS[action],
    title: ACTION_LABELS[action],
    tabindex: '-1',
  }, [el('span', { className: 'action-icon', 'aria-hidden': 'true' })])));
}

/**
 * A message's element. Pending copies (composer.js) have no id and no
 * actions; `view` is given for confirmed messages only.
 */
export function messageNode(msg, className, view = null) {
  const { author, created_at: createdAt } = msg;
  const when = new Date(createdAt);
  return el('li', { className: `message ${className}`.trim() }, [
    avatar(author.display_name, author.id),
    el('div', { className: 'message-main' }, [
      el('div', { className: 'message-meta' }, [
        el('span', { className: 'author', text: author.display_name }),
        botTag(author),
        el('time', { className: 'time', datetime: createdAt, title: when.toLocaleString(), text: clock(when) }),
      ]),
      replyQuote(msg.reply_to),
      el('div', { className: `body${isRich(msg) ? ' rich' : ''}` }, [messageText(msg, me.id)]),
      attachmentList(msg.attachments),
      editedMarker(msg.edited_at),
      reactionRow(msg, { canReact: Boolean(view) && !(view.room && view.room.is_member === false) }),
    ]),
    view ? actionBar(msg, view) : null,
  ]);
}

function messageElement(view, msg) {
  let li = view.elements.get(msg.id);
  if (!li) {
    rememberPeople([msg.author, msg.reply_to && msg.reply_to.author]);
    const classes = [msg.author.id === me.id ? 'mine' : '', mentionsMe(msg, me.id) ? 'mentions-me' : ''];
    li = messageNode(msg, classes.join(' '), view);
    li.dataset.id = msg.id;
    li.dataset.clientId = msg.client_id || '';
    li.dataset.authorId = msg.author.id;
    li.tabIndex = 0;
    view.elements.set(msg.id, li);
  }
  return li;
}

/** Draw message `id` again in place (it was edited or reacted to), keeping its place and focus. */
export function rerenderMessage(view, id) {
  const old = view.elements.get(id);
  const msg = view.messages.get(id);
  view.elements.delete(id);
  if (!msg || !old || state.view !== view) return;
  const li = messageElement(view, msg);
  for (const kept of ['continued', 'highlight', 'show-actions']) li.classList.toggle(kept, old.classList.contains(kept));
  const active = old.contains(document.activeElement) ? document.activeElement : null;
  if (!old.isConnected) return;
  old.replaceWith(li);
  // An open reaction picker moves to the new copy, a search half typed and all.
  const picker = [...old.children].find((child) => child.classList.contains('emoji-picker'));
  if (picker) {
    li.append(picker);
    if (active && picker.contains(active)) {
      active.focus({ preventScroll: true });
      updateSeenBy(view);
      return;
    }
  }
  if (active) {
    // The same control in the new copy: a reaction chip just toggled, a bar button, or the message itself.
    const { action, emoji } = active.dataset || {};
    const selector = action ? `[data-action="${CSS.escape(action)}"]${emoji ? `[data-emoji="${CSS.escape(emoji)}"]` : ''}` : null;
    const again = (selector && li.querySelector(selector)) || li;
    again.focus({ preventScroll: true });
  }
  updateSeenBy(view);
}

/**
 * Put an updated message (edit, reaction, message_updated) in place of the
 * one shown. Not while it is being edited here: editor.js draws it when the
 * edit ends. Return false when the open room does not hold it.
 */
export function updateMessageInView(view, msg) {
  const before = view.messages.get(msg.id);
  const { timeline, replaced } = replaceMessage(view, msg);
  Object.assign(view, timeline);
  if (!before || before.html !== msg.html || before.body !== msg.body) {
    // An edit: the replies to it quote the new text (the original may be older than the loaded history).
    const quoted = requote(view, msg.id, replyExcerpt(msg));
    Object.assign(view, quoted.timeline);
    for (const id of quoted.replies) if (!(view.editing && view.editing.id === id)) rerenderMessage(view, id);
  }
  if (!replaced) return false;
  if (view.editing && view.editing.id === msg.id) return true;
  rerenderMessage(view, msg.id);
  return true;
}

/** What a reply quotes of `msg`: its text, cut as the server cuts it (rooms/serializers.py). */
export function replyExcerpt(msg) {
  const text = plainText(msg);
  const chars = Array.from(text);
  return chars.length <= REPLY_EXCERPT_CHARS ? text : `${chars.slice(0, REPLY_EXCERPT_CHARS - 1).join('').trimEnd()}…`;
}

/** Take a deleted message out of the open room; the replies quoting it now say "message deleted". */
export function removeMessageFromView(view, id) {
  const { timeline, removed, replies } = removeMessage(view, id);
  if (!removed && !replies.length) return false;
  const old = view.elements.get(id);
  const hadFocus = Boolean(old && old.contains(document.activeElement));
  Object.assign(view, timeline);
  view.elements.delete(id);
  for (const reply of replies) view.elements.delete(reply); // drawn again with the new quote
  if (state.view !== view) return true;
  const follow = isAtBottom();
  const top = dom.messages.scrollTop;
  redrawMessages(view);
  if (follow) scrollToBottom();
  else dom.messages.scrollTop = top;
  if (hadFocus) dom.messages.focus({ preventScroll: true });
  return true;
}

export function daySeparator(iso) {
  return el('li', { className: 'day-separator' }, [ // an item of the list, so the list holds only items
    el('span', { text: dayLabel(new Date(iso)) }),
  ]);
}

/** The "New messages" line above the first message that was unread when the room opened (divider.js). */
function newMessagesLine(view) {
  if (!view.divider) {
    // An item of the list (a role on the <li> would take it out of the list), named by its text.
    view.divider = el('li', { className: 'new-messages' }, [el('span', { text: 'New messages' })]);
  }
  return view.divider;
}

/** Scroll the open room so that the "New messages" line sits at the top; false if there is none. */
export function scrollToNewMessages(view) {
  const line = view.divider;
  if (!line || !line.isConnected) return false;
  const box = dom.messages;
  box.scrollTop += line.getBoundingClientRect().top - box.getBoundingClientRect().top - 4;
  dom.jumpNewest.hidden = isAtBottom();
  return true;
}

/**
 * While a room opens, page back until the first unread message is loaded, so
 * that the line goes in its place; at most `pages` pages (then it goes above
 * the oldest unread loaded). Nothing is drawn meanwhile; a failure is the
 * opening's to retry.
 */
export async function loadUntilFirstUnread(view, lastRead, pages = 5) {
  for (let i = 0; i < pages && state.view === view && needsOlder({ minId: view.minId, hasMore: view.hasMore, lastRead }); i += 1) {
    const data = await api.get(roomPath(view.slug, '/messages'), { before: view.minId, limit: REVEAL_PAGE });
    if (state.view !== view) return;
    const messages = data.messages || [];
    addToView(view, messages);
    view.hasMore = Boolean(data.has_more) && messages.length > 0;
  }
}

/** The author and time of a message element, for grouping. */
export function groupInfo(li) {
  if (!li || !li.classList.contains('message')) return null;
  const time = li.querySelector('time');
  return { authorId: Number(li.dataset.authorId), createdAt: time ? time.getAttribute('datetime') : '' };
}

/** Append `li` (a message at `iso` by `authorId`) after the list's last element, with a day separator if needed. */
export function appendGrouped(li, authorId, iso) {
  const previous = groupInfo(dom.messages.lastElementChild);
  if (!previous || dayKey(new Date(previous.createdAt)) !== dayKey(new Date(iso))) {
    dom.messages.append(daySeparator(iso));
  }
  li.classList.toggle('continued', continues(previous, authorId, iso));
  dom.messages.append(li);
}

function pendingFor(slug) {
  return [...state.pending.values()].filter((p) => p.room === slug);
}

// How long after a change the log stays busy: the accessibility tree takes the change a moment later.
const LOG_SETTLE_MS = 150;

/** Hold the message log quiet (aria-busy) while history goes in; call the returned function when done. */
export const hushLog = quietRegion(
  (busy) => dom.messageLog.setAttribute('aria-busy', String(busy)),
  (fn) => setTimeout(fn, LOG_SETTLE_MS),
);

/** Redraw the list from the view (nodes are reused, so this is cheap). It is not read out. */
export function redrawMessages(view) {
  if (state.view !== view) return;
  const release = hushLog();
  try {
    drawMessages(view);
  } finally {
    release();
  }
}

function drawMessages(view) {
  const items = [];
  if (view.room && view.room.is_ephemeral) {
    items.push(el('li', { className: 'history-note', text: 'This room is ephemeral: its history is not kept. You see only the messages that arrive while you are here.' }));
  } else if (view.hasMore) {
    items.push(el('li', { className: 'history-note' }, [
      el('button', { type: 'button', className: 'link-button', dataset: { action: 'load-older' }, text: view.loadingOlder ? 'Loading older messages…' : 'Load older messages' }),
    ]));
  } else if (view.historyLoaded) {
    items.push(el('li', { className: 'history-note', text: view.messages.size ? 'This is the beginning of the history.' : 'No messages yet. Say hello!' }));
  }
  let day = null;
  let previous = null;
  const add = (li, authorId, iso, divider = null) => {
    const key = dayKey(new Date(iso));
    if (key !== day) items.push(daySeparator(iso));
    day = key;
    if (divider) {
      items.push(divider);
      previous = null; // the first new message shows its author
    }
    li.classList.toggle('continued', continues(previous, authorId, iso));
    previous = { authorId, createdAt: iso };
    items.push(li);
  };
  let lineDrawn = view.firstUnreadId === null || view.firstUnreadId === undefined;
  for (const msg of inOrder(view)) {
    // At or after: should the first unread message be deleted, the line moves down to the next one.
    const line = !lineDrawn && msg.id >= view.firstUnreadId;
    lineDrawn = lineDrawn || line;
    add(messageElement(view, msg), msg.author.id, msg.created_at, line ? newMessagesLine(view) : null);
  }
  for (const p of pendingFor(view.slug)) add(p.el, me.id, p.createdAt);
  dom.messages.replaceChildren(...items);
  updateSeenBy(view);
}

/** Add a live message to the open room, following it if the reader is at the bottom. */
export function showLiveMessage(view, msg) {
  const follow = isAtBottom() || msg.author.id === me.id;
  const top = dom.messages.scrollTop;
  if (!addToView(view, [msg])) return;
  const last = dom.messages.lastElementChild;
  const simpleAppend = msg.id === view.maxId && !pendingFor(view.slug).length
    && last && last.classList.contains('message');
  if (simpleAppend) {
    appendGrouped(messageElement(view, msg), msg.author.id, msg.created_at);
    updateSeenBy(view);
  } else {
    redrawMessages(view);
    dom.messages.scrollTop = top;
  }
  if (follow) scrollToBottom();
  else dom.jumpNewest.hidden = false;
  scheduleRead();
}

export async function loadOlder(view, limit = HISTORY_PAGE) {
  if (view.loadingOlder || !view.hasMore || !view.historyLoaded) return;
  view.loadingOlder = true;
  try {
    const data = await api.get(roomPath(view.slug, '/messages'), { before: view.minId, limit });
    if (state.view !== view) return;
    const fromBottom = dom.messages.scrollHeight - dom.messages.scrollTop;
    addToView(view, data.messages || []);
    view.hasMore = Boolean(data.has_more) && (data.messages || []).length > 0;
    view.loadingOlder = false;
    redrawMessages(view);
    dom.messages.scrollTop = dom.messages.scrollHeight - fromBottom; // keep the reader's place
  } catch (err) {
    if (!handleAuthError(err)) {
      logUnexpected(err);
      toast('Could not load older messages.');
    }
  } finally {
    view.loadingOlder = false;
  }
}

/** Load older pages until the list can scroll (so "scroll up for more" works). */
export async function fillViewport(view) {
  for (let i = 0; i < 10 && state.view === view && view.hasMore; i += 1) {
    if (dom.messages.scrollHeight > dom.messages.clientHeight + 8) return;
    await loadOlder(view);
  }
}

/** Page back until message `id` is loaded, then scroll to it and flash it. */
export async function revealMessage(view, id) {
  while (!view.messages.has(id) && view.hasMore && state.view === view && (view.minId === null || view.minId > id)) {
    while (view.loadingOlder) await sleep(50); // a scroll already asked for the next page
    const before = view.minId;
    await loadOlder(view, REVEAL_PAGE);
    if (view.minId === before) break; // the page failed; give up rather than loop
  }
  if (state.view !== view) return;
  const li = view.elements.get(id);
  if (!li) {
    toast('That message is no longer available.');
    return;
  }
  li.scrollIntoView({ block: 'center' });
  li.classList.add('highlight');
  setTimeout(() => li.classList.remove('highlight'), 3000);
  if (!isAtBottom()) dom.jumpNewest.hidden = false;
}

/** In a DM, say "Seen by <name>" under the newest message once the other person has read it. */
export function updateSeenBy(view) {
  for (const node of dom.messages.querySelectorAll('.seen-by')) node.remove();
  if (!view.room || view.room.kind !== 'dm' || view.maxId === null) return;
  const last = view.messages.get(view.maxId);
  const readers = [...view.members.values()].filter((m) => m.id !== me.id
    && m.id !== last.author.id && (m.last_read_message_id || 0) >= last.id);
  const li = view.elements.get(last.id);
  if (!readers.length || !li) return;
  li.querySelector('.message-main').append(el('div', {
    className: 'seen-by',
    text: `Seen by ${readers.map((m) => m.display_name).join(', ')}`,
  }));
}
