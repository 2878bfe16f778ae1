/*
 * The completion popup of a textarea (the composer, the inline editor):
 * `@` + letters lists the room's members and "all", `:sm` lists emoji, and a
 * `:shortcode:` typed in full becomes its emoji. ARIA combobox pattern: the
 * focus stays in the textarea, which points at the active option with
 * aria-activedescendant; the popup's keys come through onKeydown (the
 * composer registers it with addComposerKeyHandler, the editor calls it
 * first), so Enter chooses instead of sending while the list is open.
 */

import {
  applyCompletion, completionAt, inOpenCode, keyAction, moveActive, stillDismissed,
} from './completion.js';
import { EMOJI } from './emoji-data.js';
import { replaceShortcodes, shortcodeIndex } from './emojipicker.js';
import { avatar, el, scrollWithin } from './ui.js';

const SHORTCODES = shortcodeIndex(EMOJI);
const CARET_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'Home', 'End']);
let popups = 0;

function optionContent(kind, item) {
  if (kind === 'emoji') {
    return [
      el('span', { className: 'completion-emoji', text: item.emoji, 'aria-hidden': 'true' }),
      el('span', { className: 'completion-name', text: `:${item.name}:` }),
    ];
  }
  if (item.all) {
    return [
      el('span', { className: 'completion-at', text: '@', 'aria-hidden': 'true' }),
      el('span', { className: 'completion-name', text: 'all' }),
      el('span', { className: 'completion-note', text: 'everyone in this room' }),
    ];
  }
  return [avatar(item.display_name, item.id), el('span', { className: 'completion-name', text: item.display_name })];
}

/**
 * Give `textarea` a completion popup, placed by `placement` ("above" the
 * composer, "below" the editor's textarea) inside `container`. `members()`
 * returns the room's members now; `meId` is not offered. Add the `input`
 * listener before any other that reads the text, so that those see the
 * shortcodes already replaced. Return `{onKeydown(event) -> taken, close}`.
 */
export function attachAutocomplete(textarea, { container, members, meId = null, placement = 'above' }) {
  const id = `completion-${++popups}`;
  const list = el('ul', { id, className: `completion ${placement}`, role: 'listbox', hidden: true });
  if (container === textarea.parentNode) textarea.after(list);
  else container.append(list);
  textarea.setAttribute('role', 'combobox');
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-haspopup', 'listbox');
  textarea.setAttribute('aria-controls', id);
  textarea.setAttribute('aria-expanded', 'false');

  let current = null; // {kind, found, items, active}
  let dismissed = null; // where the query closed with Esc starts

  function setActive(index) {
    current.active = index;
    [...list.children].forEach((option, i) => option.setAttribute('aria-selected', String(i === index)));
    const option = list.children[index];
    if (option) {
      textarea.setAttribute('aria-activedescendant', option.id);
      scrollWithin(list, option);
    }
  }

  function render() {
    list.setAttribute('aria-label', current.kind === 'mention' ? 'People to mention' : 'Emoji');
    list.classList.toggle('emoji', current.kind === 'emoji');
    list.replaceChildren(...current.items.map((item, index) => el('li', {
      id: `${id}-${index}`,
      className: 'completion-option',
      role: 'option',
      dataset: { index },
      'aria-selected': 'false',
    }, optionContent(current.kind, item))));
    list.hidden = false;
    textarea.setAttribute('aria-expanded', 'true');
    setActive(Math.min(current.active, current.items.length - 1));
  }

  function close() {
    current = null;
    list.hidden = true;
    list.replaceChildren();
    textarea.setAttribute('aria-expanded', 'false');
    textarea.removeAttribute('aria-activedescendant');
  }

  function refresh() {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd || textarea.disabled) {
      close();
      return;
    }
    if (!stillDismissed(textarea.value, caret, dismissed)) dismissed = null;
    const found = completionAt(textarea.value, caret, { members: members(), meId, catalogue: EMOJI, dismissed });
    if (!found) {
      close();
      return;
    }
    // The same query narrowed or widened: keep the active option if it is still listed.
    const same = current && current.kind === found.kind && current.found.start === found.found.start;
    const kept = same ? found.items.indexOf(current.items[current.active]) : -1;
    current = { ...found, active: Math.max(kept, 0) };
    render();
  }

  function choose(index) {
    const item = current.items[index];
    const { text, caret } = applyCompletion(textarea.value, current, item, members());
    close();
    textarea.value = text;
    textarea.setSelectionRange(caret, caret);
    textarea.focus();
    // As if typed: the composer recounts its characters and tells the room I am typing.
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }

  function onKeydown(event) {
    if (!current || event.keyCode === 229) return false;
    const action = keyAction(event);
    if (!action) return false;
    event.preventDefault();
    if (action === 'next' || action === 'previous') {
      setActive(moveActive(current.active, action === 'next' ? 1 : -1, current.items.length));
    } else if (action === 'choose') {
      choose(current.active);
    } else {
      dismissed = current.found.start;
      close();
    }
    return true;
  }

  textarea.addEventListener('input', (event) => {
    // A `:shortcode:` finished by typing (or pasted) becomes its emoji; code stays as typed.
    if (event.inputType && event.inputType.startsWith('insert') && textarea.value.includes(':')
        && !inOpenCode(textarea.value, textarea.selectionStart)) {
      const { text, caret } = replaceShortcodes(textarea.value, SHORTCODES, textarea.selectionStart);
      if (text !== textarea.value) {
        textarea.value = text;
        textarea.setSelectionRange(caret, caret);
      }
    }
    refresh();
  });
  textarea.addEventListener('keyup', (event) => { if (CARET_KEYS.has(event.key)) refresh(); });
  textarea.addEventListener('click', refresh);
  textarea.addEventListener('blur', close);
  // The list never takes the focus: a press on it keeps the caret in the textarea.
  list.addEventListener('pointerdown', (event) => event.preventDefault());
  list.addEventListener('mousedown', (event) => event.preventDefault());
  list.addEventListener('click', (event) => {
    const option = event.target.closest('[data-index]');
    if (option && current) choose(Number(option.dataset.index));
  });

  return { onKeydown, close };
}
