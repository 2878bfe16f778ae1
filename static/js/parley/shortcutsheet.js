/* The "?" sheet: a dialog listing the keyboard shortcuts (keymap.js says which). */

import { isMacLike, shortcutList } from './keymap.js';
import { el } from './ui.js';

let dialog = null;

const platform = () => (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || '';

function keysNode(alternatives) {
  const nodes = [];
  alternatives.forEach((combo, index) => {
    if (index) nodes.push(el('span', { className: 'muted', text: ' or ' }));
    combo.forEach((key, at) => {
      if (at) nodes.push('+');
      nodes.push(el('kbd', { text: key }));
    });
  });
  return nodes;
}

function build() {
  const groups = shortcutList({ mac: isMacLike(platform()) }).map((group, index) => el('section', { className: 'shortcut-group' }, [
    el('h3', { id: `shortcut-group-${index}`, text: group.title }),
    el('dl', { className: 'shortcut-list', 'aria-labelledby': `shortcut-group-${index}` }, group.items.flatMap((item) => [
      el('dt', null, keysNode(item.keys)),
      el('dd', { text: item.what }),
    ])),
  ]));
  const close = el('button', { type: 'button', className: 'button', text: 'Close' });
  dialog = el('dialog', { id: 'shortcut-sheet', className: 'modal shortcut-sheet', 'aria-labelledby': 'shortcut-sheet-heading' }, [
    el('div', { className: 'modal-form' }, [
      el('h2', { id: 'shortcut-sheet-heading', text: 'Keyboard shortcuts' }),
      ...groups,
      el('div', { className: 'modal-actions' }, [close]),
    ]),
  ]);
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
  document.getElementById('app').append(dialog);
}

export function openShortcutSheet() {
  if (!dialog) build();
  if (!dialog.open) dialog.showModal();
}
