/*
 * The sidebar: the room and DM lists with their unread and mention badges, the
 * page title, the search hits' marks and the slide-in panels. It only draws;
 * loading the rooms is roomlist.js's, opening one is room.js's.
 */

import { dom } from './dom.js';
import { lockIcon } from './icons.js';
import { isBold, isMuted, shownUnread, titleCount } from './levels.js';
import { notifyDefault } from './notifysettings.js';
import { otherDmUser, roomTitle, roomUrl, sidebarRooms } from './rooms.js';
import { config, me, state } from './state.js';
import { avatar, el } from './ui.js';
import { badgeText, hasUnread, mentionBadgeText, pageTitle } from './unread.js';

/** The open page's name for a room (a DM is called by the other person's name). */
export const titleOf = (room) => roomTitle(room, me.id);
export const roomHref = (slug, messageId = null) => roomUrl(config.roomUrl, slug, messageId);

function unreadBadge(count) {
  return el('span', {
    className: 'unread',
    text: badgeText(count),
    hidden: !count,
    'aria-label': `${count || 0} unread`,
  });
}

/** The "@" badge: unread messages that mention me, apart from the unread count. */
function mentionBadge(count) {
  const label = `${count || 0} unread mention${count === 1 ? '' : 's'}`;
  return el('span', {
    className: 'mention-badge',
    text: mentionBadgeText(count),
    hidden: !count,
    title: label,
    'aria-label': label,
  });
}

function roomItem(room) {
  const active = room.slug === state.current;
  const icon = room.kind === 'dm'
    ? avatar(titleOf(room), (otherDmUser(room, me.id) || {}).id)
    : room.is_private
      ? el('span', { className: 'room-icon private' }, [lockIcon()])
      : el('span', { className: 'room-icon', text: '#', 'aria-hidden': 'true' });
  const muted = room.is_member !== false && isMuted(room, notifyDefault());
  const li = el('li', {
    className: `room-item${active ? ' active' : ''}${room.is_member === false ? ' not-member' : ''}`,
    dataset: { slug: room.slug },
  }, [
    el('a', { className: 'room-link', href: roomHref(room.slug), 'aria-current': active ? 'page' : null }, [
      icon,
      el('span', { className: 'room-name', text: titleOf(room) }),
      room.is_private && room.kind !== 'dm' ? el('span', { className: 'visually-hidden', text: ' (private)' }) : null,
      muted ? el('span', { className: 'muted-mark', title: 'Muted' }, [
        el('span', { className: 'action-icon', 'aria-hidden': 'true' }),
        el('span', { className: 'visually-hidden', text: ' (muted)' }),
      ]) : null,
      mentionBadge(room.mention_count),
      unreadBadge(shownUnread(room, notifyDefault())),
    ]),
  ]);
  markLevel(li, room);
  return li;
}

/* === Unread: bold rooms and muted rooms (issue 14) === */
function markLevel(li, room) {
  li.classList.toggle('has-unread', isBold(room, notifyDefault()));
  li.classList.toggle('room-muted', Boolean(room) && room.is_member !== false && isMuted(room, notifyDefault()));
}

export function renderSidebar() {
  const { rooms, dms } = sidebarRooms(state.rooms.values(), state.current, me.id);
  dom.roomList.replaceChildren(...rooms.map(roomItem));
  dom.dmList.replaceChildren(...dms.map(roomItem));
  if (!rooms.length) dom.roomList.append(el('li', { className: 'empty', text: 'No rooms yet.' }));
  if (!dms.length) dom.dmList.append(el('li', { className: 'empty', text: 'No conversations yet.' }));
  updateTitle();
}

/** Update one room's badges in place (cheaper than redrawing the sidebar). */
export function updateUnread(slug) {
  const room = state.rooms.get(slug);
  const count = shownUnread(room, notifyDefault());
  for (const li of document.querySelectorAll(`#room-list [data-slug="${CSS.escape(slug)}"], #dm-list [data-slug="${CSS.escape(slug)}"]`)) {
    markLevel(li, room);
  }
  const selector = `[data-slug="${CSS.escape(slug)}"] .unread`;
  for (const badge of document.querySelectorAll(`#room-list ${selector}, #dm-list ${selector}`)) {
    badge.replaceWith(unreadBadge(count));
  }
  const mentions = `[data-slug="${CSS.escape(slug)}"] .mention-badge`;
  for (const badge of document.querySelectorAll(`#room-list ${mentions}, #dm-list ${mentions}`)) {
    badge.replaceWith(mentionBadge(room ? room.mention_count || 0 : 0));
  }
  updateTitle();
}

function updateTitle() {
  document.title = pageTitle(titleCount(state.rooms.values(), notifyDefault()));
  // "Mark all as read" is offered while some room of mine has something unread.
  dom.markAllRead.hidden = ![...state.rooms.values()].some((room) => room.is_member !== false && hasUnread(room));
}

/** Mark the search hits that are in the open room. */
export function renderSearchActive() {
  const view = state.view;
  for (const item of dom.searchList.querySelectorAll('.search-result')) {
    item.classList.toggle('active', Boolean(view) && item.dataset.room === view.slug);
  }
}

export function togglePanel(name, open) {
  const cls = `${name}-open`;
  const isOpen = open === undefined ? !dom.app.classList.contains(cls) : open;
  dom.app.classList.toggle(cls, isOpen);
  if (name === 'sidebar') dom.sidebarToggle.setAttribute('aria-expanded', String(isOpen));
  if (name === 'members') dom.membersToggle.setAttribute('aria-expanded', String(isOpen));
  dom.backdrop.hidden = !dom.app.classList.contains('sidebar-open') && !dom.app.classList.contains('members-open');
}

export function closePanels() {
  togglePanel('sidebar', false);
  togglePanel('members', false);
}
