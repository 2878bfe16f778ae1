import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  changeReaction, hasReacted, nameList, QUICK_REACTIONS, reactToMessage, reactionChips,
} from '../../static/js/parley/reactions.js';

const ME = 1;

test('adding a reaction appends a new emoji and keeps the order of first use', () => {
  let list = changeReaction([], { emoji: '👍', userId: 2, action: 'added' });
  list = changeReaction(list, { emoji: '🎉', userId: 3, action: 'added' });
  list = changeReaction(list, { emoji: '👍', userId: ME, action: 'added' });
  assert.deepEqual(list, [{ emoji: '👍', user_ids: [2, ME] }, { emoji: '🎉', user_ids: [3] }]);
});

test('a change is idempotent: adding twice or removing what is not there changes nothing', () => {
  const list = [{ emoji: '👍', user_ids: [2] }];
  assert.equal(changeReaction(list, { emoji: '👍', userId: 2, action: 'added' }), list);
  assert.equal(changeReaction(list, { emoji: '👍', userId: 3, action: 'removed' }), list);
  assert.equal(changeReaction(list, { emoji: '🎉', userId: 2, action: 'removed' }), list);
  assert.equal(changeReaction(list, { emoji: '👍', userId: 2, action: 'shrugged' }), list);
});

test('removing the last user of an emoji drops its chip, and the input is left alone', () => {
  const list = [{ emoji: '👍', user_ids: [2] }, { emoji: '🎉', user_ids: [2, 3] }];
  const after = changeReaction(list, { emoji: '👍', userId: 2, action: 'removed' });
  assert.deepEqual(after, [{ emoji: '🎉', user_ids: [2, 3] }]);
  assert.deepEqual(changeReaction(after, { emoji: '🎉', userId: 3, action: 'removed' }), [{ emoji: '🎉', user_ids: [2] }]);
  assert.equal(list.length, 2);
  assert.deepEqual(list[1].user_ids, [2, 3]);
});

test('a message from a Part 1 server (no reactions field) takes reactions', () => {
  const msg = { id: 5, body: 'hi' };
  const after = reactToMessage(msg, { emoji: '👍', userId: 2, action: 'added' });
  assert.deepEqual(after.reactions, [{ emoji: '👍', user_ids: [2] }]);
  assert.equal(reactToMessage(msg, { emoji: '👍', userId: 2, action: 'removed' }), msg);
  assert.equal(hasReacted(undefined, '👍', 2), false);
  assert.equal(hasReacted(after.reactions, '👍', 2), true);
});

test('chips count, mark mine and name who reacted, me first as "You"', () => {
  const names = { 2: 'Bob', 3: 'Cy' };
  const chips = reactionChips([
    { emoji: '👍', user_ids: [2, ME, 3] },
    { emoji: '🎉', user_ids: [9] },
    { emoji: '👀', user_ids: [] },
  ], { meId: ME, nameOf: (id) => names[id] || null });
  assert.deepEqual(chips, [
    { emoji: '👍', count: 3, mine: true, label: 'You, Bob and Cy reacted with 👍' },
    { emoji: '🎉', count: 1, mine: false, label: 'someone reacted with 🎉' },
  ]);
});

test('long lists of names are cut short', () => {
  assert.equal(nameList(['A']), 'A');
  assert.equal(nameList(['A', 'B']), 'A and B');
  assert.equal(nameList(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']), 'A, B, C, D, E and 3 others');
});

test('the quick reactions are the eight agreed ones', () => {
  assert.deepEqual(QUICK_REACTIONS, ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '✅']);
});
