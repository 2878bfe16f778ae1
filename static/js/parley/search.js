/*
 * Message search in the main pane: the query is typed in the sidebar's
 * search field; the results take the room pane's place (the room stays
 * underneath, scroll position and all, hidden with `visibility`), 50 at a
 * time with "Load more results", and each opens its room at the message.
 *
 * Filters (from:, in:, before:, after:, has:file, has:link) are words of the
 * query that the server reads; the pane only offers them as buttons that add
 * one to the field. Paging follows the answer's `next` and `has_more` (searchpaging.js).
 */

import { dom } from './dom.js';
import { lockIcon } from './icons.js';
import { revealMessage } from './messages.js';
import { handleAuthError } from './notices.js';
import { openRoom } from './room.js';
import { SEARCH_FILTERS, SEARCH_PAGE, addFilter, hasMorePages, mergePage, resultRoomName } from './searchpaging.js';
import { closePanels, renderSearchActive, roomHref, titleOf, togglePanel } from './sidebar.js';
import { api, state } from './state.js';
import { el, highlight, searchTerms, shortDateTime, snippet } from './ui.js';

const moreButton = document.getElementById('search-more');
const filters = document.getElementById('search-filters');

let searchSeq = 0;
let shown = { q: '', room: null, messages: [], hasMore: false };

export const searchIsOpen = () => !dom.searchResults.hidden;

/** The words to mark in the snippets: the query without its filters. */
const markTerms = (q) => searchTerms(q).filter((word) => !/^-?(from|in|before|after|has):/i.test(word));

/** Close the pane and show the room again; the focus, if it was in the pane, goes back to the search field. */
export function hideSearch() {
  searchSeq += 1;
  const hadFocus = dom.searchResults.contains(document.activeElement);
  dom.searchResults.hidden = true;
  dom.searchList.replaceChildren();
  moreButton.hidden = true;
  dom.app.classList.remove('searching');
  shown = { q: '', room: null, messages: [], hasMore: false };
  if (hadFocus) {
    const sidebarShown = getComputedStyle(dom.sidebar).visibility !== 'hidden';
    (sidebarShown ? dom.search : dom.messages).focus({ preventScroll: true });
  }
}

function renderFilters() {
  if (filters.childElementCount) return;
  filters.append(
    el('span', { className: 'search-filters-label', id: 'search-filters-label', text: 'Filters:' }),
    el('ul', { className: 'search-filter-list', 'aria-labelledby': 'search-filters-label' }, SEARCH_FILTERS.map((filter) => el('li', null, [
      el('button', {
        type: 'button',
        className: 'filter-hint',
        dataset: { filter: filter.token },
        title: `${filter.example}: ${filter.what}`,
        'aria-label': `Add the filter ${filter.token} (${filter.what})`,
      }, [el('code', { text: filter.token })]),
    ]))),
  );
  filters.addEventListener('click', (event) => {
    const button = event.target.closest('.filter-hint');
    if (!button) return;
    dom.search.value = addFilter(dom.search.value, button.dataset.filter);
    dom.search.focus();
    dom.search.setSelectionRange(dom.search.value.length, dom.search.value.length);
    if (!button.dataset.filter.endsWith(':')) runSearch(); // has:file is whole; from: waits for a name
  });
}

function showPane() {
  renderFilters();
  dom.searchResults.hidden = false;
  dom.app.classList.add('searching');
}

/** Search for what the field says (the first page); an empty field closes the pane. */
export async function runSearch() {
  const q = dom.search.value.trim();
  if (!q) {
    hideSearch();
    return;
  }
  const room = dom.searchRoomOnly.checked && state.current ? state.current : null;
  const seq = ++searchSeq;
  showPane();
  dom.searchStatus.textContent = 'Searching…';
  moreButton.hidden = true;
  try {
    const data = await api.get('search', room ? { q, room } : { q });
    if (seq !== searchSeq) return;
    const messages = data.messages || [];
    shown = { q, room, messages, next: data.next, hasMore: hasMorePages(data, messages.length, SEARCH_PAGE) };
    renderResults();
  } catch (err) {
    if (seq !== searchSeq || handleAuthError(err)) return;
    dom.searchList.replaceChildren();
    dom.searchStatus.textContent = err.message;
  }
}

/** The next page of the same search, added under the results shown. */
export async function loadMoreResults() {
  if (!shown.hasMore || !shown.next || moreButton.disabled) return;
  const seq = searchSeq;
  const { q, room } = shown;
  const params = { q, page: shown.next };
  if (room) params.room = room;
  moreButton.disabled = true;
  moreButton.textContent = 'Loading…';
  try {
    const data = await api.get('search', params);
    if (seq !== searchSeq) return;
    const page = data.messages || [];
    const first = shown.messages.length;
    const messages = mergePage(shown.messages, page);
    // A page that adds nothing new ends the paging, so "Load more" never repeats itself.
    const hasMore = messages.length > first && hasMorePages(data, page.length, SEARCH_PAGE);
    shown = { ...shown, messages, next: data.next, hasMore: hasMore && Boolean(data.next) };
    renderResults();
    // Keyboard users carry on from the first new result, not from the top of the list.
    const next = dom.searchList.children[first];
    if (next) next.querySelector('a').focus();
  } catch (err) {
    if (seq === searchSeq && !handleAuthError(err)) dom.searchStatus.textContent = err.message;
  } finally {
    moreButton.disabled = false;
    moreButton.textContent = 'Load more results';
  }
}

function resultItem(msg, terms) {
  const room = state.rooms.get(msg.room);
  const when = new Date(msg.created_at);
  const isPrivate = room && room.kind !== 'dm' && room.is_private;
  return el('li', { className: 'search-result', dataset: { messageId: msg.id, room: msg.room } }, [
    el('a', { className: 'search-hit', href: roomHref(msg.room, msg.id) }, [
      el('span', { className: 'result-meta' }, [
        el('span', { className: 'result-room' }, [
          isPrivate ? lockIcon() : el('span', { className: 'hash', text: room && room.kind === 'dm' ? '@' : '#', 'aria-hidden': 'true' }),
          el('span', { className: 'result-room-name', text: resultRoomName(msg, (slug) => (state.rooms.has(slug) ? titleOf(state.rooms.get(slug)) : null)) }),
        ]),
        el('span', { className: 'author', text: msg.author.display_name }),
        el('time', { className: 'time', datetime: msg.created_at, title: when.toLocaleString(), text: shortDateTime(when) }),
      ]),
      el('span', { className: 'snippet' }, [highlight(snippet(msg.body || '', terms), terms)]),
    ]),
  ]);
}

function renderResults() {
  const { q, messages, hasMore } = shown;
  const terms = markTerms(q);
  const count = messages.length;
  dom.searchStatus.textContent = count
    ? `${count}${hasMore ? '+' : ''} result${count === 1 ? '' : 's'} for “${q}”`
    : `No messages match “${q}”.`;
  dom.searchList.replaceChildren(...messages.map((msg) => resultItem(msg, terms)));
  moreButton.hidden = !hasMore;
  renderSearchActive();
}

/** A click on a result opens its room at the message (modified clicks open a new tab, as links do). */
export function onSearchResultClick(event) {
  const item = event.target.closest('.search-result');
  if (!item || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const id = Number(item.dataset.messageId);
  const slug = item.dataset.room;
  const view = state.view;
  closePanels();
  hideSearch();
  if (view && view.slug === slug && view.historyLoaded) {
    history.pushState({ room: slug, message: id }, '', roomHref(slug, id));
    revealMessage(view, id);
  } else {
    openRoom(slug, { push: true, focusId: id });
  }
}

export function bindSearchPane() {
  moreButton.addEventListener('click', loadMoreResults);
  // On a phone the room's header, with its drawer button, is hidden under the results: the pane has its own.
  document.getElementById('search-sidebar-toggle').addEventListener('click', () => togglePanel('sidebar', true));
  window.addEventListener('popstate', () => hideSearch()); // Back to a room: the room, not the results
}
