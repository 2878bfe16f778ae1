/*
 * The room switcher (Ctrl/Cmd+K): a modal with one field and the user's
 * rooms and DMs under it, ranked by fuzzy.js as one types. ↑/↓ move, Enter
 * opens, Esc closes (the <dialog>'s own cancel). The field is an ARIA
 * combobox: the focus stays in it and aria-activedescendant names the
 * highlighted option, so screen readers follow the arrows.
 */

import { focusComposer } from './composerfocus.js';
import { fuzzyRank, splitByPositions } from './fuzzy.js';
import { lockIcon } from './icons.js';
import { openRoom } from './room.js';
import { hideSearch } from './search.js';
import { sidebarRooms } from './rooms.js';
import { closePanels, titleOf } from './sidebar.js';
import { me, state } from './state.js';
import { el } from './ui.js';

const MAX_SHOWN = 50;

let dialog = null;
let input = null;
let list = null;
let results = []; // [{item: room, positions}]
let active = 0;

/** My rooms, then my DMs, in the sidebar's order. */
function candidates() {
  const mine = [...state.rooms.values()].filter((room) => room.is_member !== false);
  const { rooms, dms } = sidebarRooms(mine, null, me.id);
  return [...rooms, ...dms];
}

function optionId(index) {
  return `switcher-option-${index}`;
}

function kindIcon(room) {
  if (room.kind === 'dm') return el('span', { className: 'switcher-kind', text: '@', 'aria-hidden': 'true' });
  if (room.is_private) return lockIcon();
  return el('span', { className: 'switcher-kind', text: '#', 'aria-hidden': 'true' });
}

function optionNode({ item: room, positions }, index) {
  const title = titleOf(room);
  const kind = room.kind === 'dm' ? 'direct message' : room.is_private ? 'private room' : 'room';
  const unread = room.unread_count || 0;
  return el('li', {
    id: optionId(index),
    role: 'option',
    className: `switcher-option${room.slug === state.current ? ' current' : ''}`,
    'aria-selected': String(index === active),
    dataset: { slug: room.slug },
  }, [
    kindIcon(room),
    el('span', { className: 'switcher-name' }, splitByPositions(title, positions)
      .map((piece) => (piece.match ? el('mark', { text: piece.text }) : piece.text))),
    el('span', { className: 'visually-hidden', text: `, ${kind}${unread ? `, ${unread} unread` : ''}` }),
    unread ? el('span', { className: 'unread', text: String(unread), 'aria-hidden': 'true' }) : null,
  ]);
}

function render() {
  results = fuzzyRank(input.value, candidates(), titleOf).slice(0, MAX_SHOWN);
  active = Math.min(active, Math.max(0, results.length - 1));
  list.replaceChildren(...results.map(optionNode));
  if (!results.length) list.append(el('li', { className: 'switcher-empty', role: 'presentation', text: 'No room or conversation matches.' }));
  markActive();
}

function markActive() {
  list.querySelectorAll('[role=option]').forEach((option, index) => {
    option.setAttribute('aria-selected', String(index === active));
  });
  const option = results.length ? document.getElementById(optionId(active)) : null;
  if (option) {
    input.setAttribute('aria-activedescendant', option.id);
    option.scrollIntoView({ block: 'nearest' });
  } else {
    input.removeAttribute('aria-activedescendant');
  }
}

function choose(index) {
  const chosen = results[index];
  if (!chosen) return;
  dialog.close();
  closePanels();
  hideSearch();
  const slug = chosen.item.slug;
  if (slug !== state.current || !state.view) openRoom(slug, { push: true });
  focusComposer({ force: true });
}

function onKeydown(event) {
  if (event.isComposing) return;
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves && !event.altKey) {
    event.preventDefault();
    if (results.length) active = (active + moves[event.key] + results.length) % results.length;
    markActive();
  } else if (event.key === 'Enter') {
    event.preventDefault();
    choose(active);
  }
}

function build() {
  input = el('input', {
    type: 'text',
    className: 'switcher-input',
    role: 'combobox',
    'aria-label': 'Switch to a room or conversation',
    'aria-expanded': 'true',
    'aria-controls': 'switcher-list',
    'aria-autocomplete': 'list',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'Jump to a room or conversation…',
  });
  list = el('ul', { id: 'switcher-list', className: 'switcher-list', role: 'listbox', 'aria-label': 'Rooms and conversations' });
  dialog = el('dialog', { id: 'switcher', className: 'modal switcher', 'aria-label': 'Switch room' }, [
    el('div', { className: 'switcher-box' }, [
      input,
      list,
      el('p', { className: 'switcher-hint', 'aria-hidden': 'true', text: '↑ ↓ to move · Enter to open · Esc to close' }),
    ]),
  ]);
  input.addEventListener('input', () => {
    active = 0;
    render();
  });
  input.addEventListener('keydown', onKeydown);
  list.addEventListener('pointerdown', (event) => event.preventDefault()); // the focus stays in the field
  list.addEventListener('click', (event) => {
    const option = event.target.closest('[role=option]');
    if (option) choose([...list.querySelectorAll('[role=option]')].indexOf(option));
  });
  // A click on the backdrop (the dialog element itself, outside its box) closes it.
  dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
  document.getElementById('app').append(dialog);
}

export const switcherIsOpen = () => Boolean(dialog && dialog.open);

export function openSwitcher() {
  if (!dialog) build();
  if (dialog.open) return;
  input.value = '';
  active = 0;
  render();
  dialog.showModal();
  input.focus();
}
