import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EMOJI, CATEGORIES } from '../../static/js/parley/emoji-data.js';
import {
  applyEmoji, findShortcodeQuery, replaceShortcodes, searchEmoji, shortcodeIndex,
} from '../../static/js/parley/emojipicker.js';

const index = shortcodeIndex(EMOJI);

test('the generated catalogue is entries of emoji, name, aliases and a known category', () => {
  assert.ok(EMOJI.length >= 150);
  const categories = new Set(CATEGORIES.map((c) => c.id));
  for (const entry of EMOJI) {
    assert.equal(typeof entry.emoji, 'string');
    assert.match(entry.name, /^[a-z0-9_+-]+$/);
    assert.ok(Array.isArray(entry.aliases));
    assert.ok(categories.has(entry.category), entry.name);
  }
});

test('every name and alias is in the index', () => {
  assert.equal(index.get('+1').emoji, '👍');
  assert.equal(index.get('thumbsup').emoji, '👍');
  assert.equal(index.get('tada').emoji, '🎉');
  assert.equal(index.get('white_check_mark').emoji, '✅');
});

test('search ranks the whole name, then its start, then a word, then anywhere', () => {
  const names = (query, options) => searchEmoji(EMOJI, query, options).map((e) => e.name);
  assert.equal(names('heart')[0], 'heart');
  assert.ok(names('heart').includes('heart_eyes'));
  assert.ok(names('heart').includes('broken_heart'));
  assert.ok(names('heart').indexOf('heart_eyes') < names('heart').indexOf('broken_heart'));
  assert.equal(names('thumbsup')[0], '+1'); // by alias
  assert.equal(names(':tada:')[0], 'tada');
  assert.equal(names('check mark')[0], 'white_check_mark');
  assert.deepEqual(names('no-such-emoji'), []);
});

test('search is limited on request, and an empty query gives the catalogue in order', () => {
  assert.equal(searchEmoji(EMOJI, 'a', { limit: 8 }).length, 8);
  assert.deepEqual(searchEmoji(EMOJI, ''), EMOJI);
});

test('a colon at the start or after white space with two name characters opens a query', () => {
  assert.deepEqual(findShortcodeQuery(':ta'), { start: 0, end: 3, query: 'ta' });
  assert.deepEqual(findShortcodeQuery('nice :+1'), { start: 5, end: 8, query: '+1' });
  assert.deepEqual(findShortcodeQuery('nice :TaDa'), { start: 5, end: 10, query: 'tada' });
  assert.deepEqual(findShortcodeQuery('ok :thu and', 7), { start: 3, end: 7, query: 'thu' });
});

test('no query for smileys, times, URLs or one character', () => {
  assert.equal(findShortcodeQuery(':)'), null);
  assert.equal(findShortcodeQuery(':t'), null);
  assert.equal(findShortcodeQuery('at 10:30'), null);
  assert.equal(findShortcodeQuery('https://example'), null);
  assert.equal(findShortcodeQuery(':ta da'), null);
  assert.equal(findShortcodeQuery('no colon'), null);
});

test('choosing an emoji replaces the query and puts the caret after it', () => {
  const text = 'great :ta and';
  const found = findShortcodeQuery(text, 9);
  assert.deepEqual(applyEmoji(text, found, index.get('tada')), { text: 'great 🎉 and', caret: 8 });
});

test('finished known shortcodes become emoji, unknown ones stay', () => {
  assert.equal(replaceShortcodes('ship it :rocket: :tada: :nope:', index).text, 'ship it 🚀 🎉 :nope:');
  assert.equal(replaceShortcodes(':+1::heart:', index).text, '👍❤️');
  assert.equal(replaceShortcodes(':THUMBSUP:', index).text, '👍');
});

test('shortcodes in code, glued to words or in times stay as typed', () => {
  assert.equal(replaceShortcodes('`:tada:` and ```\n:rocket:\n```', index).text, '`:tada:` and ```\n:rocket:\n```');
  assert.equal(replaceShortcodes('word:tada: and :tada:word', index).text, 'word:tada: and :tada:word');
  assert.equal(replaceShortcodes('at 10:30:tada:', index).text, 'at 10:30:tada:');
});

test('the caret keeps its place around replaced shortcodes', () => {
  const text = 'a :tada: b';
  assert.deepEqual(replaceShortcodes(text, index, text.length), { text: 'a 🎉 b', caret: 'a 🎉 b'.length });
  assert.deepEqual(replaceShortcodes(text, index, 1), { text: 'a 🎉 b', caret: 1 });
  assert.deepEqual(replaceShortcodes(text, index, 5), { text: 'a 🎉 b', caret: 'a 🎉'.length });
});
