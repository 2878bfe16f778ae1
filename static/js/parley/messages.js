/*
 * The open room's message list: drawing it, following live messages,
 * paging back, jumping to a message, and "Seen by" in a DM. Which messages
 * there are is timeline.js's business; this module only shows them.
 */

import { sleep } from './api.js';
import { dom } from './dom.js';
import { handleAuthError, logUnexpected, toast } from './notices.js';
import { scheduleRead } from './read.js';
import { isAtBottom, scrollToBottom } from './scroll.js';
import { api, me, roomPath, state } from './state.js';
import { addMessages, continues, inOrder } from './timeline.js';
import { avatar, clock, dayKey, dayLabel, el, linkify } from './ui.js';

const HISTORY_PAGE = 50;
const REVEAL_PAGE = 200; // bigger pages when paging back to a search result

/** Record messages in the view; false if they were all there already. */
export function addToView(view, messages) {
  const { timeline, added } = addMessages(view, messages);
  Object.assign(view, timeline);
  return added.length > 0;
}

export function messageNode({ author, body, created_at: createdAt }, className) {
  const when = new Date(createdAt);
  return el('li', { className: `message ${className}`.trim() }, [
    avatar(author.display_name, author.id),
    el('div', { className: 'message-main' }, [
      el('div', { className: 'message-meta' }, [
        el('span', { className: 'author', text: author.display_name }),
        el('time', { className: 'time', datetime: createdAt, title: when.toLocaleString(), text: clock(when) }),
      ]),
      el('div', { className: 'body' }, [linkify(body)]),
    ]),
  ]);
}

function messageElement(view, msg) {
  let li = view.elements.get(msg.id);
  if (!li) {
    li = messageNode(msg, msg.author.id === me.id ? 'mine' : '');
    li.dataset.id = msg.id;
    li.dataset.clientId = msg.client_id || '';
    li.dataset.authorId = msg.author.id;
    view.elements.set(msg.id, li);
  }
  return li;
}

export function daySeparator(iso) {
  return el('li', { className: 'day-separator', role: 'separator' }, [
    el('span', { text: dayLabel(new Date(iso)) }),
  ]);
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

/** Redraw the list from the view (nodes are reused, so this is cheap). */
export function redrawMessages(view) {
  if (state.view !== view) return;
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
  const add = (li, authorId, iso) => {
    const key = dayKey(new Date(iso));
    if (key !== day) items.push(daySeparator(iso));
    day = key;
    li.classList.toggle('continued', continues(previous, authorId, iso));
    previous = { authorId, createdAt: iso };
    items.push(li);
  };
  for (const msg of inOrder(view)) add(messageElement(view, msg), msg.author.id, msg.created_at);
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
