import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CATEGORIES, EMOJI } from '../../static/js/parley/emoji-data.js';
import { COLUMNS, gridMove, gridRows, pickerSections, spokenName } from '../../static/js/parley/emojigrid.js';
import { QUICK_REACTIONS } from '../../static/js/parley/reactions.js';

test('without a query: the quick reactions, then every category in order, every emoji once', () => {
  const sections = pickerSections(EMOJI, CATEGORIES, { quick: QUICK_REACTIONS });
  assert.equal(sections[0].id, 'quick');
  assert.deepEqual(sections[0].entries.map((e) => e.emoji), QUICK_REACTIONS);
  assert.deepEqual(sections.slice(1).map((s) => s.id), CATEGORIES.map((c) => c.id));
  assert.equal(sections.slice(1).reduce((n, s) => n + s.entries.length, 0), EMOJI.length);
});

test('quick reactions the catalogue does not know are left out', () => {
  const sections = pickerSections(EMOJI, CATEGORIES, { quick: ['👍', 'not an emoji'] });
  assert.deepEqual(sections[0].entries.map((e) => e.emoji), ['👍']);
  assert.notEqual(pickerSections(EMOJI, CATEGORIES)[0].id, 'quick');
});

test('with a query: one section of results, best first, maybe empty', () => {
  const [results, ...rest] = pickerSections(EMOJI, CATEGORIES, { query: 'heart', quick: QUICK_REACTIONS });
  assert.deepEqual(rest, []);
  assert.equal(results.entries[0].emoji, '❤️');
  assert.ok(results.entries.every((e) => [e.name, ...e.aliases].some((n) => n.includes('heart'))));
  assert.deepEqual(pickerSections(EMOJI, CATEGORIES, { query: 'zzzzqq' })[0].entries, []);
});

test('each section starts a new row of COLUMNS', () => {
  assert.deepEqual(gridRows([3, 10], 8), [
    { start: 0, length: 3 }, { start: 3, length: 8 }, { start: 11, length: 2 },
  ]);
  assert.deepEqual(gridRows([], 8), []);
  assert.deepEqual(gridRows([0, 2], 8), [{ start: 0, length: 2 }]);
  assert.equal(COLUMNS, 8);
});

const rows = gridRows([3, 10], 8); // rows: [0..2], [3..10], [11..12]

test('Left and Right step through everything, stopping at the ends', () => {
  assert.equal(gridMove(2, 'ArrowRight', rows), 3);
  assert.equal(gridMove(3, 'ArrowLeft', rows), 2);
  assert.equal(gridMove(0, 'ArrowLeft', rows), 0);
  assert.equal(gridMove(12, 'ArrowRight', rows), 12);
});

test('Up and Down keep the column, or take the last cell of a shorter row', () => {
  assert.equal(gridMove(1, 'ArrowDown', rows), 4);
  assert.equal(gridMove(9, 'ArrowDown', rows), 12); // column 6 -> the 2-cell row's last
  assert.equal(gridMove(4, 'ArrowDown', rows), 12);
  assert.equal(gridMove(3, 'ArrowDown', rows), 11);
  assert.equal(gridMove(10, 'ArrowUp', rows), 2); // column 7 -> the 3-cell row's last
  assert.equal(gridMove(12, 'ArrowUp', rows), 4);
  assert.equal(gridMove(1, 'ArrowUp', rows), 1); // the top row goes nowhere
  assert.equal(gridMove(11, 'ArrowDown', rows), 11);
});

test('PageUp, PageDown, Home and End', () => {
  const tall = gridRows([80], 8); // ten full rows
  assert.equal(gridMove(1, 'PageDown', tall), 33);
  assert.equal(gridMove(70, 'PageDown', tall), 78); // stops at the last row, same column
  assert.equal(gridMove(33, 'PageUp', tall), 1);
  assert.equal(gridMove(5, 'PageUp', tall), 5);
  assert.equal(gridMove(40, 'Home', tall), 0);
  assert.equal(gridMove(4, 'End', tall), 79);
});

test('an empty grid has no active cell; an index out of range is brought back in', () => {
  assert.equal(gridMove(0, 'ArrowDown', []), -1);
  assert.equal(gridMove(-1, 'ArrowRight', rows), 1);
  assert.equal(gridMove(99, 'ArrowLeft', rows), 11);
  assert.equal(gridMove(4, 'x', rows), 4);
});

test('names are read as words; "+1" by its alias', () => {
  const byName = new Map(EMOJI.map((e) => [e.name, e]));
  assert.equal(spokenName(byName.get('heart_eyes')), 'heart eyes');
  assert.equal(spokenName(byName.get('+1')), 'thumbsup');
  assert.equal(spokenName(byName.get('100')), '100');
});
