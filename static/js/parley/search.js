/* Message search in the sidebar: run it, list the hits, open one in its room. */

import { dom } from './dom.js';
import { revealMessage } from './messages.js';
import { handleAuthError } from './notices.js';
import { openRoom } from './room.js';
import { closePanels, renderSearchActive, roomHref, titleOf } from './sidebar.js';
import { api, state } from './state.js';
import { el, highlight, searchTerms, shortDateTime, snippet } from './ui.js';

let searchSeq = 0;

export function hideSearch() {
  searchSeq += 1;
  dom.searchResults.hidden = true;
  dom.searchList.replaceChildren();
  dom.app.classList.remove('searching');
}

export async function runSearch() {
  const q = dom.search.value.trim();
  if (!q) {
    hideSearch();
    return;
  }
  const seq = ++searchSeq;
  dom.searchResults.hidden = false;
  dom.app.classList.add('searching');
  dom.searchStatus.textContent = 'Searching…';
  const params = { q };
  if (dom.searchRoomOnly.checked && state.current) params.room = state.current;
  try {
    const data = await api.get('search', params);
    if (seq !== searchSeq) return;
    renderSearchResults(q, data.messages || []);
  } catch (err) {
    if (seq !== searchSeq || handleAuthError(err)) return;
    dom.searchList.replaceChildren();
    dom.searchStatus.textContent = err.message;
  }
}

function renderSearchResults(q, messages) {
  const terms = searchTerms(q);
  dom.searchStatus.textContent = messages.length
    ? `${messages.length} result${messages.length === 1 ? '' : 's'}`
    : 'No messages match.';
  dom.searchList.replaceChildren(...messages.map((msg) => {
    const room = state.rooms.get(msg.room);
    const when = new Date(msg.created_at);
    return el('li', { className: 'search-result', dataset: { messageId: msg.id, room: msg.room } }, [
      el('button', { type: 'button', className: 'search-hit' }, [
        el('span', { className: 'result-meta' }, [
          el('span', { className: 'result-room', text: room ? titleOf(room) : msg.room }),
          el('span', { className: 'author', text: msg.author.display_name }),
          el('time', { className: 'time', datetime: msg.created_at, title: when.toLocaleString(), text: shortDateTime(when) }),
        ]),
        el('span', { className: 'snippet' }, [highlight(snippet(msg.body, terms), terms)]),
      ]),
    ]);
  }));
  renderSearchActive();
}

export function onSearchResultClick(event) {
  const item = event.target.closest('.search-result');
  if (!item) return;
  const id = Number(item.dataset.messageId);
  const slug = item.dataset.room;
  const view = state.view;
  closePanels();
  if (view && view.slug === slug && view.historyLoaded) {
    history.pushState({ room: slug, message: id }, '', roomHref(slug, id));
    revealMessage(view, id);
  } else {
    openRoom(slug, { push: true, focusId: id });
  }
}
