/*
 * The chat page's entry module (templates/rooms/room.html): wire the page's
 * controls to the modules that handle them, then start the long poll.
 */

import { bindMessageActions } from './actions.js';
import { imagesOf } from './attachments.js';
import { attachAutocomplete } from './autocomplete.js';
import { addComposerKeyHandler, onComposerKeydown, submitComposer, updateComposer } from './composer.js';
import { bindCreateRoom } from './createroom.js';
import { dom } from './dom.js';
import { openEmojiPicker } from './emojipopover.js';
import { invite, searchInvitees } from './invite.js';
import { renderMembers } from './members.js';
import { loadOlder, revealMessage } from './messages.js';
import { setUpNotifications } from './notifications.js';
import { closeReactionPicker, openReactionPicker, setReactionPicker } from './picker.js';
import { pollLoop, wake, watchForWakeUps } from './poll.js';
import { markAllRead } from './roomlist.js';
import { flushRead, scheduleRead } from './read.js';
import { joinOpenRoom, leaveRoom, newView, onSidebarClick, openRoom } from './room.js';
import { cancelReply } from './reply.js';
import { bindRoomDetails } from './roomdetails.js';
import { messageIdFromHash, messageIdFromSearch, slugFromPath } from './rooms.js';
import { followWhenResized, isAtBottom, scrollToBottom } from './scroll.js';
import { bindSearchPane, hideSearch, onSearchResultClick, runSearch } from './search.js';
import { bindShortcuts } from './shortcuts.js';
import { openShortcutSheet } from './shortcutsheet.js';
import { closePanels, togglePanel } from './sidebar.js';
import { config, me, state } from './state.js';
import { sendTyping } from './typing.js';
import { debounce } from './ui.js';
import { bindUploads, onUploadsChange } from './uploads.js';
import { openViewer } from './viewer.js';

// ?message=<id> comes from search results, #message-<id> from "Copy link".
const messageIdFromUrl = () => messageIdFromSearch(window.location.search) || messageIdFromHash(window.location.hash);

const roomMembers = () => (state.view ? [...state.view.members.values()] : []);

/** Put `text` at the composer's caret (over any selection), as if typed. */
function insertInComposer(text) {
  const composer = dom.composer;
  composer.setRangeText(text, composer.selectionStart, composer.selectionEnd, 'end');
  composer.focus();
  composer.dispatchEvent(new Event('input', { bubbles: true }));
}

function toggleComposerEmoji() {
  const button = dom.emojiButton;
  if (button.getAttribute('aria-expanded') === 'true') {
    closeReactionPicker();
    return;
  }
  button.setAttribute('aria-expanded', 'true');
  openReactionPicker({
    anchor: dom.composerForm,
    label: 'Insert an emoji',
    toggle: button,
    onPick: insertInComposer,
    onClose: () => {
      button.setAttribute('aria-expanded', 'false');
      // Esc: the focus was in the picker, now gone; it goes back to the button.
      if (!document.activeElement || document.activeElement === document.body) button.focus();
    },
  });
}

/** A click on a thumbnail opens the viewer on it, with the message's other images next to it. */
function onThumbnailClick(event) {
  const link = event.target.closest('a.attachment-image');
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const li = link.closest('li.message');
  const view = state.view;
  const msg = li && li.dataset.id && view ? view.messages.get(Number(li.dataset.id)) : null;
  const pending = li && !msg && li.dataset.clientId ? state.pending.get(li.dataset.clientId) : null;
  const images = imagesOf((msg || pending || {}).attachments);
  if (!images.length) return; // the link opens the file as it is
  event.preventDefault();
  openViewer(images, Math.min(images.length - 1, Number(link.dataset.viewIndex) || 0), link);
}

function bindEvents() {
  for (const list of [dom.roomList, dom.dmList]) {
    list.addEventListener('click', (event) => {
      // A room chosen in the list replaces the search results (a modified click opens a tab instead).
      const plain = event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
      if (plain && event.target.closest('a.room-link')) hideSearch();
      onSidebarClick(event);
    });
  }
  dom.sidebarToggle.addEventListener('click', () => togglePanel('sidebar'));
  dom.membersToggle.addEventListener('click', () => togglePanel('members'));
  dom.membersClose.addEventListener('click', () => togglePanel('members', false));
  dom.backdrop.addEventListener('click', closePanels);
  dom.leaveRoom.addEventListener('click', leaveRoom);
  dom.markAllRead.addEventListener('click', markAllRead);
  dom.joinRoom.addEventListener('click', joinOpenRoom);
  dom.reconnectNow.addEventListener('click', wake);
  bindShortcuts(); // Esc included: it closes the panels, the search results, the reply, one per press
  bindCreateRoom(document.getElementById('create-room-open'));
  bindRoomDetails(document.getElementById('room-details-open'));
  document.getElementById('shortcuts-open').addEventListener('click', openShortcutSheet);

  // Before the composer's own input listener, which then counts the text with its shortcodes replaced.
  const completion = attachAutocomplete(dom.composer, { container: dom.composerForm, members: roomMembers, meId: me.id });
  addComposerKeyHandler((event) => completion.onKeydown(event));
  dom.composer.addEventListener('keydown', onComposerKeydown);
  setReactionPicker(openEmojiPicker);
  dom.emojiButton.addEventListener('click', toggleComposerEmoji);
  dom.replyCancel.addEventListener('click', () => {
    cancelReply();
    dom.composer.focus();
  });
  bindMessageActions();
  dom.messages.addEventListener('click', onThumbnailClick);
  bindUploads(dom.roomPane);
  onUploadsChange(updateComposer);
  dom.composer.addEventListener('input', () => {
    updateComposer();
    sendTyping();
  });
  dom.composerForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitComposer();
    dom.composer.focus();
  });

  followWhenResized();
  dom.messages.addEventListener('scroll', () => {
    const view = state.view;
    if (!view) return;
    if (dom.messages.scrollTop < 150 && view.hasMore && !view.loadingOlder) loadOlder(view);
    if (isAtBottom()) {
      dom.jumpNewest.hidden = true;
      scheduleRead();
    }
  }, { passive: true });
  dom.messages.addEventListener('click', (event) => {
    if (event.target.closest('[data-action="load-older"]') && state.view) loadOlder(state.view);
  });
  dom.jumpNewest.addEventListener('click', () => {
    scrollToBottom();
    scheduleRead();
  });

  const searchSoon = debounce(runSearch, 300);
  dom.search.addEventListener('input', () => {
    if (dom.search.value.trim()) searchSoon();
    else {
      searchSoon.cancel();
      hideSearch();
    }
  });
  dom.search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && dom.search.value) {
      event.preventDefault(); // the field's own Esc: nothing else closes on this press
      dom.search.value = '';
      searchSoon.cancel();
      hideSearch();
    }
  });
  dom.searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    searchSoon.cancel();
    closePanels(); // on a phone the drawer covers the results
    runSearch();
  });
  dom.searchRoomOnly.addEventListener('change', () => { if (dom.search.value.trim()) runSearch(); });
  dom.searchClose.addEventListener('click', () => {
    dom.search.value = '';
    hideSearch();
  });
  dom.searchList.addEventListener('click', onSearchResultClick);
  bindSearchPane();

  dom.inviteSearch.addEventListener('input', searchInvitees);
  dom.inviteForm.addEventListener('submit', (event) => event.preventDefault());
  dom.inviteResults.addEventListener('click', (event) => {
    const choice = event.target.closest('.invite-choice');
    if (choice) invite(Number(choice.dataset.userId), choice.textContent.trim());
  });

  window.addEventListener('popstate', (event) => {
    const slug = (event.state && event.state.room) || slugFromPath(config.roomUrl, window.location.pathname);
    if (slug) openRoom(slug, { focusId: messageIdFromUrl() });
  });
  window.addEventListener('hashchange', () => {
    // A message link into the open room: show that message (paging back to it if needed).
    const id = messageIdFromHash(window.location.hash);
    const view = state.view;
    if (id && view && view.historyLoaded) revealMessage(view, id);
  });
  window.addEventListener('focus', scheduleRead);
  // Leaving the page within the read debounce: the read goes out now (pagehide comes while the
  // page is still visible; a tab put in the background is told by visibilitychange).
  window.addEventListener('pagehide', () => flushRead({ wasVisible: document.visibilityState === 'visible' }));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flushRead({ wasVisible: true });
  });

  // Keep "last seen 5 min ago" honest.
  setInterval(() => renderMembers(state.view), 60000);
}

function start() {
  history.replaceState({ room: state.current, message: messageIdFromUrl() }, '', window.location.href);
  // Until the first load finishes, typing and sending already work for the page's room.
  if (state.current) state.view = newView(state.current);
  bindEvents();
  setUpNotifications();
  watchForWakeUps();
  updateComposer();
  pollLoop(messageIdFromUrl());
}

start();
