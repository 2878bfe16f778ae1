import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyCompletion, completionAt, inOpenCode, keyAction, moveActive, stillDismissed,
} from '../../static/js/parley/completion.js';
import { EMOJI } from '../../static/js/parley/emoji-data.js';
import { ALL } from '../../static/js/parley/mentions.js';

const members = [
  { id: 1, display_name: 'Ana Alves' },
  { id: 2, display_name: 'Ben Brown' },
  { id: 3, display_name: 'Bea Black' },
];
const options = { members, meId: 1, catalogue: EMOJI };

test('an @ query offers the matching members, without me, then "all"', () => {
  const found = completionAt('hi @b', 5, options);
  assert.equal(found.kind, 'mention');
  assert.deepEqual(found.found, { start: 3, end: 5, query: 'b' });
  assert.deepEqual(found.items.map((m) => m.display_name), ['Bea Black', 'Ben Brown']);
  assert.deepEqual(completionAt('@', 1, options).items.map((m) => m.display_name), ['Bea Black', 'Ben Brown', 'all']);
  assert.equal(completionAt('@an', 3, options), null); // only me matches
  assert.deepEqual(completionAt('@al', 3, options).items, [ALL]);
});

test('a :shortcode query of two letters or more offers emoji, at most eight', () => {
  assert.equal(completionAt(':t', 2, options), null);
  const found = completionAt('ok :thumbsu', 11, options);
  assert.equal(found.kind, 'emoji');
  assert.equal(found.items[0].emoji, '👍');
  assert.ok(completionAt(':s', 2, options) === null);
  assert.ok(completionAt(':sm', 3, options).items.length <= 8);
  assert.equal(completionAt('10:30', 5, options), null);
});

test('the query opened last wins, and one with nothing to offer gives way', () => {
  assert.equal(completionAt('@ben :smi', 9, options).kind, 'emoji');
  assert.equal(completionAt(':smile @be', 10, options).kind, 'mention');
  assert.equal(completionAt('@zz', 3, options), null);
});

test('nothing when the members are unknown yet, except "all"', () => {
  assert.deepEqual(completionAt('@a', 2, { ...options, members: [] }).items, [ALL]);
});

test('a query closed with Esc stays closed until another one starts', () => {
  assert.equal(completionAt('@be', 3, { ...options, dismissed: 0 }), null);
  assert.equal(stillDismissed('@ben', 4, 0), true);
  assert.equal(stillDismissed('@ben ok', 7, 0), true); // "Ada Lo": a query may hold a space
  assert.equal(stillDismissed('@ben\nok', 7, 0), false);
  assert.equal(stillDismissed('', 0, 0), false);
  assert.equal(stillDismissed('x @be', 5, 0), false);
  assert.equal(stillDismissed('@be', 3, null), false);
  assert.equal(completionAt('@be @b', 6, { ...options, dismissed: 0 }).found.start, 4);
});

test('choosing writes the mention or the emoji with the caret after it', () => {
  const mention = completionAt('hi @be and', 6, options);
  assert.deepEqual(applyCompletion('hi @be and', mention, members[1], members), { text: 'hi @**Ben Brown** and', caret: 18 });
  const emoji = completionAt('yes :thumbsu', 12, options);
  assert.deepEqual(applyCompletion('yes :thumbsu', emoji, emoji.items[0]), { text: 'yes 👍', caret: 6 });
});

test('the active option wraps round both ways', () => {
  assert.equal(moveActive(0, -1, 3), 2);
  assert.equal(moveActive(2, 1, 3), 0);
  assert.equal(moveActive(1, 1, 3), 2);
  assert.equal(moveActive(0, 1, 0), -1);
});

test('arrows move, Enter and Tab choose, Esc closes; Shift+Enter and composing stay text', () => {
  assert.equal(keyAction({ key: 'ArrowDown' }), 'next');
  assert.equal(keyAction({ key: 'ArrowUp' }), 'previous');
  assert.equal(keyAction({ key: 'n', ctrlKey: true }), 'next');
  assert.equal(keyAction({ key: 'p', ctrlKey: true }), 'previous');
  assert.equal(keyAction({ key: 'Enter' }), 'choose');
  assert.equal(keyAction({ key: 'Tab' }), 'choose');
  assert.equal(keyAction({ key: 'Escape' }), 'close');
  assert.equal(keyAction({ key: 'Enter', shiftKey: true }), null);
  assert.equal(keyAction({ key: 'Tab', shiftKey: true }), null);
  assert.equal(keyAction({ key: 'Enter', isComposing: true }), null);
  assert.equal(keyAction({ key: 'ArrowDown', altKey: true }), null);
  assert.equal(keyAction({ key: 'a' }), null);
  assert.equal(keyAction({ key: 'ArrowLeft' }), null);
});

test('code still being typed is open until its backticks are matched', () => {
  assert.equal(inOpenCode('`:smile:'), true);
  assert.equal(inOpenCode('`:smile:`'), false);
  assert.equal(inOpenCode('a `b` c `:smile:'), true);
  assert.equal(inOpenCode('``a ` b``'), false);
  assert.equal(inOpenCode('``a ` b`'), true);
  assert.equal(inOpenCode('```\ncode :x:'), true);
  assert.equal(inOpenCode('```\ncode\n```\n:x:'), false);
  assert.equal(inOpenCode('`open` :x: `', 10), false); // only the text before the caret counts
  assert.equal(inOpenCode('no code :x:'), false);
});
