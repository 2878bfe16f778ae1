/*
 * The open room: switching to it, loading its details and newest messages,
 * its header and notices, joining, leaving, and an invitation from a stranger.
 */

import { sleep } from './api.js';
import { Backoff } from './backoff.js';
import { focusComposer } from './composerfocus.js';
import { dom } from './dom.js';
import { renderMembers } from './members.js';
import { firstUnreadId, openingScroll } from './divider.js';
import { bellText, levelOf } from './levels.js';
import {
  addToView, fillViewport, hushLog, loadUntilFirstUnread, redrawMessages, revealMessage, scrollToNewMessages, updateSeenBy,
} from './messages.js';
import { notifyDefault } from './notifysettings.js';
import { handleAuthError, logUnexpected, setNotice, toast } from './notices.js';
import { markRead, scheduleRead } from './read.js';
import { renderReply } from './reply.js';
import { firstRoom, retentionText } from './rooms.js';
import { scrollToBottom } from './scroll.js';
import { closePanels, renderSearchActive, renderSidebar, roomHref, titleOf } from './sidebar.js';
import { api, me, rememberPeople, roomPath, state } from './state.js';
import { renderSendButton, resetUploads } from './uploads.js';
import { emptyTimeline } from './timeline.js';
import { debounce, el } from './ui.js';

const HISTORY_PAGE = 50;

export function newView(slug) {
  return {
    slug,
    room: state.rooms.get(slug) || null,
    members: new Map(), // user id -> member (user + presence + last_read_message_id)
    ...emptyTimeline(), // messages (id -> message), minId, maxId
    elements: new Map(), // id -> li, so redraws reuse nodes
    historyLoaded: false,
    hasMore: false,
    loadingOlder: false,
    typing: new Map(), // user id -> {name, timer}
    lastTypingSent: 0,
    replyTo: null, // {id, author, excerpt}: the message the next send answers
    editing: null, // the inline editor (editor.js), if a message is being edited
    firstUnreadId: null, // the "New messages" line goes above it, until the room is left
    divider: null, // that line's element
  };
}

/**
 * Show a room: reset the pane, then load its details and newest messages.
 * Resolves after the first load attempt; failures that may pass (network,
 * 5xx, 429) are retried in the background while the room stays open.
 */
export function openRoom(slug, { push = false, replace = false, focusId = null } = {}) {
  const entry = { room: slug, message: focusId };
  if (push) history.pushState(entry, '', roomHref(slug, focusId));
  else if (replace) history.replaceState(entry, '', roomHref(slug, focusId));

  for (const typing of state.view ? state.view.typing.values() : []) clearTimeout(typing.timer);
  // A read the debounce still holds is the room being left's: report it now, or it is lost.
  scheduleRead.cancel();
  markRead();
  state.current = slug;
  const view = newView(slug);
  state.view = view;
  resetUploads(); // they were uploaded into the room left

  const release = hushLog(); // the room's history is not read out as it loads (livelog.js)
  dom.messages.replaceChildren(el('li', { className: 'history-note', text: 'Loading messages…' }));
  dom.typing.textContent = '';
  dom.jumpNewest.hidden = true;
  dom.members.replaceChildren();
  dom.inviteResults.replaceChildren();
  dom.inviteSearch.value = '';
  setNotice(null);
  renderHeader(view);
  renderComposerState(view);
  focusComposer();
  renderReply();
  renderSidebar();
  renderSearchActive();
  return loadView(view, focusId, new Backoff()).finally(release);
}

async function loadView(view, focusId, backoff) {
  try {
    const [detail, page] = await Promise.all([
      api.get(roomPath(view.slug)),
      api.get(roomPath(view.slug, '/messages'), { limit: HISTORY_PAGE }),
    ]);
    if (state.view !== view) return;
    applyRoomDetail(view, detail);
    view.hasMore = Boolean(page.has_more);
    addToView(view, page.messages || []);
    // The "New messages" line: above the first message unread as the room opens (divider.js).
    // Found before the history counts as loaded, so that nothing is marked read meanwhile.
    const lastRead = readMarkOf(view);
    if (!focusId) await loadUntilFirstUnread(view, lastRead);
    if (state.view !== view) return;
    view.historyLoaded = true;
    view.firstUnreadId = firstUnreadId(view.messages.values(), { lastRead, meId: me.id });
    redrawMessages(view);
    if (openingScroll({ focusId, dividerId: view.firstUnreadId }) !== 'divider' || !scrollToNewMessages(view)) {
      scrollToBottom();
    }
    if (focusId) await revealMessage(view, focusId);
    await fillViewport(view);
    markRead();
  } catch (err) {
    if (state.view !== view || err.name === 'AbortError' || handleAuthError(err)) return;
    logUnexpected(err);
    if (err.retryable) {
      setNotice('Could not load this room. Retrying…', 'warning');
      sleep(backoff.next(err.retryAfter), state.wake.signal)
        .then(() => { if (state.view === view) loadView(view, focusId, backoff); });
      return;
    }
    dom.messages.replaceChildren();
    setNotice(err.status === 404 || err.status === 403
      ? 'This room does not exist, or you cannot see it.'
      : err.message, 'error');
    renderComposerState(view, false);
  }
}

/** My read mark in the open room as it opens (null if I am not a member): what was unread is after it. */
function readMarkOf(view) {
  const mine = view.members.get(me.id);
  if (!mine || (view.room && view.room.is_member === false)) return null;
  return Math.max(mine.last_read_message_id || 0, state.lastRead.get(view.slug) || 0);
}

function applyRoomDetail(view, { room, members }) {
  view.members = new Map();
  rememberPeople(members || []);
  for (const member of members || []) {
    const live = state.presence.get(member.id);
    view.members.set(member.id, live ? { ...member, ...live } : member);
  }
  const known = state.rooms.get(room.slug);
  const isMember = typeof room.is_member === 'boolean' ? room.is_member : view.members.has(me.id);
  view.room = { ...known, ...room, is_member: isMember };
  if (known || isMember) state.rooms.set(room.slug, view.room);

  const mine = view.members.get(me.id);
  if (mine && mine.last_read_message_id) {
    state.lastRead.set(room.slug, Math.max(state.lastRead.get(room.slug) || 0, mine.last_read_message_id));
  }
  setNotice(null);
  renderHeader(view);
  renderMembers(view);
  renderComposerState(view);
  renderInvitation(view);
  renderSidebar();
}

export const refreshDetail = debounce(async () => {
  const view = state.view;
  if (!view || !view.historyLoaded) return;
  try {
    const detail = await api.get(roomPath(view.slug));
    if (state.view === view) {
      applyRoomDetail(view, detail);
      updateSeenBy(view);
    }
  } catch (err) {
    if (!handleAuthError(err)) logUnexpected(err);
  }
}, 300);

function badge(text, kind) {
  return el('span', { className: `badge ${kind}`, text });
}

export function renderHeader(view) {
  const room = view.room;
  dom.roomTitle.textContent = room ? titleOf(room) : view.slug;
  dom.roomTopic.textContent = room && room.topic ? room.topic : '';
  dom.roomTopic.hidden = !(room && room.topic);
  const badges = [];
  if (room && room.kind === 'dm') badges.push(badge('Direct message', 'dm'));
  if (room && room.is_ephemeral) badges.push(badge('Ephemeral: messages are not kept', 'ephemeral'));
  dom.roomBadges.replaceChildren(...badges);
  document.getElementById('room-kind-icon').hidden = !(room && room.kind !== 'dm' && room.is_private);
  const retention = room ? retentionText(room) : '';
  dom.roomRetention.textContent = retention;
  dom.roomRetention.hidden = !retention;
  dom.leaveRoom.hidden = !(room && room.kind !== 'dm' && room.is_member);
  renderBell(room);
  dom.membersToggle.textContent = room ? `Members (${room.member_count ?? view.members.size})` : 'Members';
  document.body.dataset.roomKind = room ? room.kind : '';
}

/** The room header's bell: my notification level in this room; it opens the notifications panel. */
export function renderBell(room) {
  const member = Boolean(room) && room.is_member !== false;
  dom.roomNotify.hidden = !member;
  if (!member) return;
  const level = levelOf(room, notifyDefault());
  dom.roomNotify.classList.toggle('off', level === 'none');
  dom.roomNotifyText.textContent = bellText(room, notifyDefault());
  dom.roomNotifyText.classList.toggle('visually-hidden', level === 'all'); // the bell alone says "all"
  dom.roomNotify.title = `Notifications for this room: ${level === 'none' ? 'muted' : level === 'mentions' ? 'mentions only' : 'all messages'}`;
}

export function canSend(view) {
  return Boolean(view) && !(view.room && view.room.is_member === false);
}

/** Whether the open room is a public room I read without being in it: no composer, a Join button. */
function isVisiting(view) {
  return Boolean(view && view.room && view.room.is_member === false && view.room.kind === 'room');
}

export function renderComposerState(view, enabled = canSend(view)) {
  dom.composer.disabled = !enabled;
  renderSendButton(enabled);
  dom.emojiButton.disabled = !enabled;
  const visiting = isVisiting(view);
  dom.composerForm.hidden = visiting;
  dom.joinBar.hidden = !visiting;
  dom.joinRoom.disabled = false;
  dom.roomPane.classList.toggle('read-only', visiting);
}

/** Join the public room I am reading, and turn it into the usual room view. */
export async function joinOpenRoom() {
  const view = state.view;
  if (!isVisiting(view)) return;
  dom.joinRoom.disabled = true;
  try {
    const data = await api.post(roomPath(view.slug, '/join'));
    state.rooms.set(data.room.slug, { ...data.room, is_member: true });
    if (state.view === view) await openRoom(view.slug);
    dom.composer.focus();
  } catch (err) {
    dom.joinRoom.disabled = false;
    if (!handleAuthError(err)) toast(err.message);
  }
}

export async function leaveRoom() {
  const view = state.view;
  if (!view || !view.room) return;
  if (!window.confirm(`Leave ${titleOf(view.room)}?`)) return;
  try {
    await api.post(roomPath(view.slug, '/leave'));
    forgetRoom(view.slug);
  } catch (err) {
    if (!handleAuthError(err)) toast(err.message);
  }
}

/** I am no longer in `slug`: drop or demote it, and move away if it is open. */
export function forgetRoom(slug) {
  const room = state.rooms.get(slug);
  if (room && room.kind === 'room' && !room.is_private) room.is_member = false;
  else state.rooms.delete(slug);
  if (state.current === slug) openFirstRoom({ exclude: slug });
  else renderSidebar();
}

export function openFirstRoom({ exclude = null } = {}) {
  const first = firstRoom(state.rooms.values(), { exclude, meId: me.id });
  if (first) {
    openRoom(first.slug, { replace: true });
    return;
  }
  state.current = null;
  state.view = null;
  dom.roomTitle.textContent = 'Welcome to Parley';
  dom.roomTopic.hidden = true;
  dom.roomBadges.replaceChildren();
  dom.roomRetention.hidden = true;
  dom.leaveRoom.hidden = true;
  dom.roomNotify.hidden = true;
  dom.messages.replaceChildren();
  dom.members.replaceChildren();
  dom.typing.textContent = '';
  setNotice('You are not in any room yet. Browse the rooms, or message someone from People.', 'info',
    el('a', { className: 'button small', href: dom.app.dataset.roomsUrl, text: 'Browse rooms' }));
  renderComposerState(null, false);
  renderSidebar();
}

/** A click in the room or DM list opens that room here (modified clicks open a new tab as usual). */
export function onSidebarClick(event) {
  const link = event.target.closest('a.room-link');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const slug = link.closest('[data-slug]').dataset.slug;
  if (slug !== state.current || !state.view) openRoom(slug, { push: true });
  closePanels();
}

// ---- An invitation from a stranger ------------------------------------------

/** In a room someone I share no other room with put me in: "<name> invited you. [Stay] [Leave] [Leave and block]". */
function renderInvitation(view) {
  const room = view && view.room;
  if (!room || !room.invitation_from_stranger || !room.invited_by || room.is_member === false) return;
  const by = room.invited_by;
  const choice = (text, className, answer) => {
    const button = el('button', { type: 'button', className: `button small ${className}`, text });
    button.addEventListener('click', () => answerInvitation(view, by, answer));
    return button;
  };
  setNotice(`${by.display_name} invited you.`, 'warning', el('span', { className: 'invitation-choices' }, [
    choice('Stay', 'primary', 'stay'),
    choice('Leave', '', 'leave'),
    choice(`Leave and block ${by.display_name}`, 'danger', 'block'),
  ]));
}

async function answerInvitation(view, by, answer) {
  for (const button of dom.roomNotice.querySelectorAll('button')) button.disabled = true;
  try {
    if (answer === 'stay') {
      const data = await api.post(roomPath(view.slug, '/join')); // joining accepts the invitation
      const { invited_by: _by, invitation_from_stranger: _stranger, ...room } = { ...view.room, ...data.room };
      view.room = room;
      state.rooms.set(view.slug, room);
      if (state.view === view) setNotice(null);
      return;
    }
    await api.post(roomPath(view.slug, '/leave'));
    forgetRoom(view.slug);
    if (answer === 'block') {
      await api.post('blocks', { user_id: by.id });
      toast(`You blocked ${by.display_name}: they cannot message or invite you, and you will not see what they write.`);
    }
  } catch (err) {
    if (state.view === view) {
      for (const button of dom.roomNotice.querySelectorAll('button')) button.disabled = false;
    }
    if (!handleAuthError(err)) toast(err.message);
  }
}
