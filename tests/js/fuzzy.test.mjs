import assert from 'node:assert/strict';
import { test } from 'node:test';

import { foldLetters, fuzzyMatch, fuzzyRank, splitByPositions } from '../../static/js/parley/fuzzy.js';

const ranked = (query, names) => fuzzyRank(query, names, (name) => name).map((r) => r.item);

test('letters must come in order; case, accents and spaces in the query do not matter', () => {
  assert.ok(fuzzyMatch('gnrl', 'General'));
  assert.ok(fuzzyMatch('CAFE', 'Café talk'));
  assert.ok(fuzzyMatch('dev ops', 'devops'));
  assert.equal(fuzzyMatch('lrg', 'General'), null);
  assert.equal(fuzzyMatch('generals', 'General'), null);
  assert.equal(fuzzyMatch('x', ''), null);
});

test('an empty query matches everything with score 0', () => {
  assert.deepEqual(fuzzyMatch('', 'anything'), { score: 0, positions: [] });
  assert.deepEqual(fuzzyMatch('   ', 'anything'), { score: 0, positions: [] });
});

test('the best alignment wins, not the first letters found: "gen" marks the word "general"', () => {
  const match = fuzzyMatch('gen', 'Engineering general');
  assert.deepEqual(match.positions, [12, 13, 14]);
});

test('positions count code points, so emoji and accents keep highlighting in place', () => {
  const match = fuzzyMatch('ab', '🎉 a-b');
  assert.deepEqual(match.positions, [2, 4]);
  assert.equal(foldLetters('Éte').join(''), 'ete');
});

test('word starts and runs beat scattered letters', () => {
  assert.deepEqual(ranked('ds', ['ideas', 'design-system', 'Dev Sync']), ['Dev Sync', 'design-system', 'ideas']);
  assert.deepEqual(ranked('des', ['ideas', 'design']), ['design', 'ideas']);
  // camelCase boundaries count as word starts
  assert.ok(fuzzyMatch('pr', 'parleyRoom').score > fuzzyMatch('pr', 'parleyroom').score);
});

test('an exact name comes first, then shorter names before longer ones at an equal score', () => {
  assert.deepEqual(ranked('bob', ['Bobby', 'Bob', 'bobcat fans']), ['Bob', 'Bobby', 'bobcat fans']);
  assert.deepEqual(ranked('', ['b', 'a']), ['b', 'a']); // the given order when nothing ranks them
});

test('fuzzyRank leaves out what does not match and keeps positions for highlighting', () => {
  const result = fuzzyRank('ops', [{ n: 'ops' }, { n: 'random' }], (x) => x.n);
  assert.equal(result.length, 1);
  assert.deepEqual(result[0].positions, [0, 1, 2]);
});

test('splitByPositions cuts a name into marked and unmarked pieces', () => {
  assert.deepEqual(splitByPositions('General', [0, 2, 3]), [
    { text: 'G', match: true }, { text: 'e', match: false }, { text: 'ne', match: true }, { text: 'ral', match: false },
  ]);
  assert.deepEqual(splitByPositions('', []), []);
});
