/*
 * The emoji picker: a popover with a search field, the quick reactions, then
 * every emoji of emoji-data.js under its category, and category buttons that
 * jump there. It opens for a message's reaction (registered with
 * setReactionPicker) and from the composer's emoji button.
 *
 * The focus stays in the search field (ARIA combobox with a listbox): typing
 * filters, the arrow keys move through the grid (emojigrid.js does the
 * index arithmetic), Enter picks, Esc closes, and the opener puts the focus
 * back where it belongs (onClose).
 */

import { CATEGORIES, EMOJI } from './emoji-data.js';
import { COLUMNS, gridMove, gridRows, pickerSections, spokenName } from './emojigrid.js';
import { QUICK_REACTIONS } from './reactions.js';
import { el, scrollWithin } from './ui.js';

const GRID_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown']);
let pickers = 0;

function firstOf(categoryId) {
  const entry = EMOJI.find((e) => e.category === categoryId);
  return entry ? entry.emoji : '•';
}

/**
 * Open the picker inside `anchor` (a message, or the composer's form); call
 * `onPick(emoji)` with the choice and `onClose()` whenever it closes.
 * `label` names the dialog; a press on `toggle` (the button that opened it)
 * is left to that button. Return a function that closes it.
 */
export function openEmojiPicker({ anchor, onPick, onClose, label = 'Add a reaction', toggle = null }) {
  const id = `emoji-picker-${++pickers}`;
  const search = el('input', {
    type: 'search',
    className: 'emoji-search',
    placeholder: 'Search emoji',
    autocomplete: 'off',
    spellcheck: 'false',
    role: 'combobox',
    'aria-label': 'Search emoji',
    'aria-autocomplete': 'list',
    'aria-expanded': 'true',
    'aria-controls': `${id}-grid`,
  });
  const tabs = el('div', { className: 'emoji-tabs', role: 'group', 'aria-label': 'Categories' }, CATEGORIES.map((category) => el('button', {
    type: 'button',
    className: 'emoji-tab',
    dataset: { category: category.id },
    title: category.label,
    'aria-label': category.label,
    tabindex: '-1',
  }, [el('span', { text: firstOf(category.id), 'aria-hidden': 'true' })])));
  const grid = el('div', { id: `${id}-grid`, className: 'emoji-grid', role: 'listbox', 'aria-label': 'Emoji' });
  const preview = el('div', { className: 'emoji-preview', 'aria-hidden': 'true' });
  const popover = el('div', { className: 'emoji-picker', role: 'dialog', 'aria-label': label }, [search, tabs, grid, preview]);

  let entries = []; // every entry shown, in order
  let options = []; // their elements
  let rows = [];
  let active = -1;
  let closed = false;

  function setActive(index, { scroll = true } = {}) {
    if (options[active]) options[active].setAttribute('aria-selected', 'false');
    active = index;
    const option = options[active];
    if (!option) {
      search.removeAttribute('aria-activedescendant');
      preview.textContent = '';
      return;
    }
    option.setAttribute('aria-selected', 'true');
    search.setAttribute('aria-activedescendant', option.id);
    preview.replaceChildren(
      el('span', { className: 'emoji-preview-emoji', text: entries[active].emoji }),
      el('span', { text: `:${entries[active].name}:` }),
    );
    if (scroll) scrollWithin(grid, option);
  }

  function render() {
    const sections = pickerSections(EMOJI, CATEGORIES, { query: search.value, quick: QUICK_REACTIONS });
    entries = sections.flatMap((section) => section.entries);
    rows = gridRows(sections.map((section) => section.entries.length), COLUMNS);
    let index = 0;
    options = [];
    const groups = sections.map((section) => {
      const cells = section.entries.map((entry) => {
        const option = el('div', {
          id: `${id}-${index}`,
          className: 'emoji-option',
          role: 'option',
          dataset: { index: index++ },
          'aria-label': spokenName(entry),
          'aria-selected': 'false',
          title: `:${entry.name}:`,
          text: entry.emoji,
        });
        options.push(option);
        return option;
      });
      return el('div', { className: 'emoji-section', role: 'group', 'aria-label': section.label, dataset: { section: section.id } }, [
        el('div', { className: 'emoji-heading', text: section.label, 'aria-hidden': 'true' }),
        el('div', { className: 'emoji-cells' }, cells),
      ]);
    });
    grid.replaceChildren(...groups);
    grid.scrollTop = 0;
    if (!entries.length) grid.append(el('p', { className: 'emoji-empty', text: 'No emoji found.' }));
    active = -1;
    setActive(entries.length ? 0 : -1);
  }

  function done() {
    if (closed) return;
    closed = true;
    document.removeEventListener('pointerdown', outside, true);
    popover.remove();
    if (onClose) onClose();
  }

  function pick(index) {
    const entry = entries[index];
    if (!entry) return;
    done();
    onPick(entry.emoji);
  }

  function jumpTo(categoryId) {
    if (search.value) {
      search.value = '';
      render();
    }
    const section = grid.querySelector(`[data-section="${CSS.escape(categoryId)}"]`);
    if (section) {
      grid.scrollTop += section.getBoundingClientRect().top - grid.getBoundingClientRect().top;
      setActive(Number(section.querySelector('[data-index]').dataset.index), { scroll: false });
    }
    search.focus({ preventScroll: true });
  }

  const outside = (event) => {
    if (!popover.contains(event.target) && !(toggle && toggle.contains(event.target))) done();
  };

  search.addEventListener('input', render);
  popover.addEventListener('keydown', (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    if (GRID_KEYS.has(event.key) && event.target === search) {
      event.preventDefault();
      event.stopPropagation();
      if (entries.length) setActive(gridMove(active, event.key, rows));
    } else if (event.key === 'Enter' && event.target === search) {
      event.preventDefault();
      event.stopPropagation();
      pick(active);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      done();
    }
  });
  // The options never take the focus, so that typing goes on in the search field.
  grid.addEventListener('pointerdown', (event) => event.preventDefault());
  grid.addEventListener('pointermove', (event) => {
    const option = event.target.closest('[data-index]');
    if (option && Number(option.dataset.index) !== active) setActive(Number(option.dataset.index), { scroll: false });
  });
  grid.addEventListener('click', (event) => {
    const option = event.target.closest('[data-index]');
    if (!option) return;
    event.stopPropagation(); // not a click on the message under it
    pick(Number(option.dataset.index));
  });
  tabs.addEventListener('pointerdown', (event) => event.preventDefault());
  tabs.addEventListener('click', (event) => {
    event.stopPropagation();
    const tab = event.target.closest('[data-category]');
    if (tab) jumpTo(tab.dataset.category);
  });
  popover.addEventListener('click', (event) => event.stopPropagation());
  popover.addEventListener('focusout', (event) => {
    // Tab out of the picker closes it; a press outside closes it too (below).
    if (event.relatedTarget && !popover.contains(event.relatedTarget)) done();
  });

  render();
  anchor.append(popover);
  const scroller = anchor.closest('.messages');
  if (scroller) {
    // In a message: downwards, unless the list shows too little under the message and
    // its content holds enough above it (the list can scroll down to a picker, never
    // above its own top).
    const height = popover.offsetHeight;
    const list = scroller.getBoundingClientRect();
    const box = anchor.getBoundingClientRect();
    const aboveInContent = box.top - list.top + scroller.scrollTop;
    if (list.bottom - box.top < height && aboveInContent >= height) popover.classList.add('above');
    popover.scrollIntoView({ block: 'nearest' });
  }
  document.addEventListener('pointerdown', outside, true);
  search.focus({ preventScroll: true });
  return done;
}
