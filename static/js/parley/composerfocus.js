/*
 * Put the caret in the composer when a room opens, so one can type at once,
 * as in Slack. Not on touch-only devices (no hover, coarse pointer): there
 * the focus would pop the on-screen keyboard over half of the room one just
 * opened to read. Not when the person is typing in another field (a search,
 * an invitation), nor while a dialog is open.
 */

import { dom } from './dom.js';
import { isTypingTarget } from './keymap.js';

const touchOnly = () => window.matchMedia('(hover: none) and (pointer: coarse)').matches;

export function focusComposer({ force = false } = {}) {
  if (touchOnly() || dom.composer.disabled || document.querySelector('dialog[open]')) return;
  const active = document.activeElement;
  if (!force && active && active !== dom.composer && isTypingTarget(active)) return;
  dom.composer.focus({ preventScroll: true });
}
