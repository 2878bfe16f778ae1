import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  bellText, isBold, isMuted, levelOf, shouldNotify, shownUnread, titleCount,
} from '../../static/js/parley/levels.js';

const room = (extra = {}) => ({ slug: 'r', is_member: true, unread_count: 0, mention_count: 0, notify: null, ...extra });

test("a room's level is its own, else my default, else all", () => {
  assert.equal(levelOf(room(), 'all'), 'all');
  assert.equal(levelOf(room(), 'mentions'), 'mentions');
  assert.equal(levelOf(room({ notify: 'none' }), 'all'), 'none');
  assert.equal(levelOf(room({ notify: 'all' }), 'none'), 'all'); // the room's own choice wins over the default
  assert.equal(levelOf(room({ notify: 'loud' }), 'mentions'), 'mentions'); // an unknown value is no choice
  assert.equal(levelOf(room(), undefined), 'all');
  assert.equal(levelOf(room(), 'bogus'), 'all');
  assert.equal(levelOf(undefined, 'none'), 'none');
  assert.equal(isMuted(room(), 'none'), true);
  assert.equal(isMuted(room({ notify: 'mentions' }), 'none'), false);
});

test('at "all" every message of someone else notifies, unless I am looking at its room in a focused tab', () => {
  assert.equal(shouldNotify({ level: 'all' }), true);
  assert.equal(shouldNotify({ level: 'all', mine: true }), false);
  assert.equal(shouldNotify({ level: 'all', inView: true, focused: true }), false);
  assert.equal(shouldNotify({ level: 'all', inView: true, focused: false }), true); // another tab or window has the focus
  assert.equal(shouldNotify({ level: 'all', inView: false, focused: true }), true); // another room of this tab
});

test('at "mentions" only a mention notifies; at "none" nothing does, mentions included', () => {
  assert.equal(shouldNotify({ level: 'mentions', mentioned: false }), false);
  assert.equal(shouldNotify({ level: 'mentions', mentioned: true }), true);
  assert.equal(shouldNotify({ level: 'mentions', mentioned: true, inView: true, focused: true }), false);
  assert.equal(shouldNotify({ level: 'none', mentioned: true }), false);
  assert.equal(shouldNotify({ level: 'none', mentioned: false }), false);
  assert.equal(shouldNotify({ level: 'unknown', mentioned: true }), false);
});

test('a room is bold when I am in it and it has unread messages, unless muted', () => {
  assert.equal(isBold(room({ unread_count: 2 }), 'all'), true);
  assert.equal(isBold(room({ unread_count: 2, notify: 'mentions' }), 'all'), true);
  assert.equal(isBold(room({ unread_count: 0, mention_count: 0 }), 'all'), false);
  assert.equal(isBold(room({ unread_count: 2, mention_count: 1, notify: 'none' }), 'all'), false);
  assert.equal(isBold(room({ unread_count: 2 }), 'none'), false); // muted by my default
  assert.equal(isBold(room({ unread_count: 2, notify: 'all' }), 'none'), true);
  assert.equal(isBold(room({ unread_count: 2, is_member: false }), 'all'), false);
  assert.equal(isBold(null, 'all'), false);
});

test('a muted room shows no unread count, and the title counts only its mentions', () => {
  const muted = room({ notify: 'none', unread_count: 5, mention_count: 2 });
  const loud = room({ slug: 'l', unread_count: 3, mention_count: 1 });
  const stranger = room({ slug: 's', is_member: false, unread_count: 9 });
  assert.equal(shownUnread(muted, 'all'), 0);
  assert.equal(shownUnread(loud, 'all'), 3);
  assert.equal(shownUnread(loud, 'none'), 0);
  assert.equal(titleCount([muted, loud, stranger], 'all'), 2 + 3);
  assert.equal(titleCount([muted, loud, stranger], 'none'), 2 + 1);
  assert.equal(titleCount([], 'all'), 0);
});

test("the bell says the room's level in a word", () => {
  assert.equal(bellText(room(), 'all'), 'All');
  assert.equal(bellText(room({ notify: 'mentions' }), 'all'), 'Mentions');
  assert.equal(bellText(room(), 'none'), 'Muted');
});
