import assert from 'node:assert/strict';
import { test } from 'node:test';

import { adjacentSlug, isMacLike, isTypingTarget, shortcutList, shortcutOf } from '../../static/js/parley/keymap.js';

const key = (k, mods = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });

test('Ctrl+K opens the switcher, Cmd+K on a Mac (where Ctrl+K stays the text field\'s)', () => {
  assert.equal(shortcutOf(key('k', { ctrlKey: true })), 'switcher');
  assert.equal(shortcutOf(key('K', { ctrlKey: true }), { typing: true }), 'switcher');
  assert.equal(shortcutOf(key('k', { metaKey: true })), null);
  assert.equal(shortcutOf(key('k', { metaKey: true }), { mac: true }), 'switcher');
  assert.equal(shortcutOf(key('k', { ctrlKey: true }), { mac: true }), null);
  assert.equal(shortcutOf(key('k', { ctrlKey: true, shiftKey: true })), null);
  assert.equal(shortcutOf(key('k')), null);
});

test('Alt+Up and Alt+Down move between rooms, from the composer too, but not with other modifiers', () => {
  assert.equal(shortcutOf(key('ArrowUp', { altKey: true }), { typing: true }), 'previous-room');
  assert.equal(shortcutOf(key('ArrowDown', { altKey: true })), 'next-room');
  assert.equal(shortcutOf(key('ArrowDown', { altKey: true, shiftKey: true })), null);
  assert.equal(shortcutOf(key('ArrowDown')), null);
});

test('"?" shows the sheet only outside text fields', () => {
  assert.equal(shortcutOf(key('?', { shiftKey: true })), 'help');
  assert.equal(shortcutOf(key('?', { shiftKey: true }), { typing: true }), null);
  assert.equal(shortcutOf(key('?', { ctrlKey: true })), null);
});

test('nothing fires while a dialog is open (its own keys rule)', () => {
  for (const event of [key('k', { ctrlKey: true }), key('ArrowUp', { altKey: true }), key('?')]) {
    assert.equal(shortcutOf(event, { dialogOpen: true }), null);
  }
});

test('text fields are typing targets; buttons and checkboxes are not', () => {
  assert.equal(isTypingTarget({ tagName: 'TEXTAREA' }), true);
  assert.equal(isTypingTarget({ tagName: 'input', type: 'search' }), true);
  assert.equal(isTypingTarget({ tagName: 'INPUT', type: '' }), true);
  assert.equal(isTypingTarget({ tagName: 'DIV', isContentEditable: true }), true);
  assert.equal(isTypingTarget({ tagName: 'INPUT', type: 'checkbox' }), false);
  assert.equal(isTypingTarget({ tagName: 'BUTTON' }), false);
  assert.equal(isTypingTarget({ tagName: 'LI' }), false);
  assert.equal(isTypingTarget(null), false);
});

test('adjacentSlug moves in the list and stops at its ends', () => {
  const slugs = ['a', 'b', 'c'];
  assert.equal(adjacentSlug(slugs, 'b', 1), 'c');
  assert.equal(adjacentSlug(slugs, 'b', -1), 'a');
  assert.equal(adjacentSlug(slugs, 'c', 1), null);
  assert.equal(adjacentSlug(slugs, 'a', -1), null);
  assert.equal(adjacentSlug(slugs, 'gone', 1), 'a');
  assert.equal(adjacentSlug(slugs, 'gone', -1), 'c');
  assert.equal(adjacentSlug([], 'a', 1), null);
});

test('the sheet names the platform\'s keys', () => {
  assert.equal(isMacLike('MacIntel'), true);
  assert.equal(isMacLike('iPhone'), true);
  assert.equal(isMacLike('Linux x86_64'), false);
  const first = (mac) => shortcutList({ mac })[0].items[0].keys[0].join('+');
  assert.equal(first(true), '⌘+K');
  assert.equal(first(false), 'Ctrl+K');
});
