/*
 * Small icons drawn as CSS masks over static/img/icons/*.svg (as the message
 * actions are), so they take the text colour in either theme. Decorative
 * unless given a label.
 */

import { el } from './ui.js';

/** A lock for a private room: hidden from screen readers, or an image named `label`. */
export function lockIcon(label = null) {
  return el('span', {
    className: 'lock-icon',
    'aria-hidden': label ? null : 'true',
    role: label ? 'img' : null,
    'aria-label': label,
    title: label,
  });
}
