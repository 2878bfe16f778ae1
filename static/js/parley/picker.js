/*
 * The reaction picker: a row of quick reactions until the emoji picker
 * (emojipopover.js, registered by main.js) plugs in with
 * setReactionPicker(open), where open({anchor, onPick, onClose}) shows a
 * picker inside `anchor`, calls onPick(emoji) with the choice and returns a
 * function that closes it.
 */

import { QUICK_REACTION_NAMES, QUICK_REACTIONS } from './reactions.js';
import { el } from './ui.js';

let close = null;

function openQuickPicker({ anchor, onPick, onClose }) {
  const buttons = QUICK_REACTIONS.map((emoji) => el('button', {
    type: 'button',
    role: 'menuitem',
    className: 'reaction-choice',
    dataset: { emoji },
    title: QUICK_REACTION_NAMES[emoji] || emoji,
    'aria-label': `React with ${QUICK_REACTION_NAMES[emoji] || emoji}`,
    tabindex: '-1',
    text: emoji,
  }));
  const menu = el('div', { className: 'reaction-picker', role: 'menu', 'aria-label': 'Add a reaction' }, buttons);
  const outside = (event) => { if (!menu.contains(event.target)) done(); };
  const done = () => {
    document.removeEventListener('pointerdown', outside, true);
    menu.remove();
    if (onClose) onClose();
  };
  menu.addEventListener('click', (event) => {
    const choice = event.target.closest('[data-emoji]');
    if (!choice) return;
    event.stopPropagation();
    done();
    onPick(choice.dataset.emoji);
  });
  menu.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(document.activeElement);
    const move = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (move) {
      event.preventDefault();
      event.stopPropagation();
      buttons[(index + move + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Escape' || event.key === 'Tab') {
      if (event.key === 'Escape') event.preventDefault();
      event.stopPropagation();
      done();
    }
  });
  document.addEventListener('pointerdown', outside, true);
  anchor.append(menu);
  buttons[0].tabIndex = 0;
  buttons[0].focus();
  return done;
}

let opener = openQuickPicker;

/** Replace the quick-reaction row with another picker (the hook for emojipopover.js). */
export function setReactionPicker(open) {
  opener = open || openQuickPicker;
}

/**
 * Open the picker in `anchor` (closing any other); `onPick(emoji)` gets the
 * choice. Other options (`label`, `toggle`) go to the picker as they are.
 */
export function openReactionPicker({ onClose, ...options }) {
  closeReactionPicker();
  const closeThis = opener({
    ...options,
    onClose: () => {
      if (close === closeThis) close = null;
      if (onClose) onClose();
    },
  });
  close = closeThis;
}

export function closeReactionPicker() {
  if (close) close();
}
