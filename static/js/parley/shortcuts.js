/*
 * The page-wide keys: Ctrl/Cmd+K (switcher), Alt+↑/↓ (previous/next room in
 * the sidebar's order), "?" (the shortcut sheet) and Esc.
 *
 * The shortcuts listen in the capture phase on window, so that a field that
 * stops its keys from bubbling (the inline editor does) cannot swallow them.
 * Esc listens in the bubble phase and only acts when nothing closer handled
 * it (the composer's reply, the editor, the emoji picker, the viewer and
 * <dialog>s all close themselves and call preventDefault), closing one
 * thing per press: a slide-in panel, then the search results, then the reply.
 */

import { focusComposer } from './composerfocus.js';
import { dom } from './dom.js';
import { adjacentSlug, isMacLike, isTypingTarget, shortcutOf } from './keymap.js';
import { cancelReply } from './reply.js';
import { openRoom } from './room.js';
import { sidebarRooms } from './rooms.js';
import { hideSearch, searchIsOpen } from './search.js';
import { openShortcutSheet } from './shortcutsheet.js';
import { closePanels } from './sidebar.js';
import { me, state } from './state.js';
import { openSwitcher } from './switcher.js';
import { viewerIsOpen } from './viewer.js';

const platform = () => (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || '';
const mac = isMacLike(platform());

const dialogOpen = () => Boolean(document.querySelector('dialog[open]')) || viewerIsOpen();

/** The slugs of the sidebar's two lists, top to bottom. */
function sidebarOrder() {
  const { rooms, dms } = sidebarRooms(state.rooms.values(), state.current, me.id);
  return [...rooms, ...dms].map((room) => room.slug);
}

function moveRoom(delta) {
  const slug = adjacentSlug(sidebarOrder(), state.current, delta);
  if (!slug) return;
  hideSearch();
  openRoom(slug, { push: true });
  const link = document.querySelector(`.room-item[data-slug="${CSS.escape(slug)}"] .room-link`);
  if (link) link.scrollIntoView({ block: 'nearest' });
}

function onShortcut(event) {
  if (event.defaultPrevented || event.isComposing) return;
  const action = shortcutOf(event, { mac, typing: isTypingTarget(event.target), dialogOpen: dialogOpen() });
  if (!action) return;
  event.preventDefault();
  event.stopPropagation();
  if (action === 'switcher') openSwitcher();
  else if (action === 'previous-room') moveRoom(-1);
  else if (action === 'next-room') moveRoom(1);
  else if (action === 'help') openShortcutSheet();
}

function onEscape(event) {
  if (event.key !== 'Escape' || event.defaultPrevented || dialogOpen()) return;
  if (dom.app.classList.contains('sidebar-open') || dom.app.classList.contains('members-open')) {
    closePanels();
  } else if (searchIsOpen()) {
    hideSearch();
  } else if (cancelReply(state.view)) {
    focusComposer({ force: true });
  } else {
    return;
  }
  event.preventDefault();
}

export function bindShortcuts() {
  window.addEventListener('keydown', onShortcut, true);
  document.addEventListener('keydown', onEscape);
}
