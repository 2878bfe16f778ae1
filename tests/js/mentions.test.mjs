import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ALL, applyMention, filterMembers, findMentionQuery, fold, mentionMarkup,
} from '../../static/js/parley/mentions.js';

const members = [
  { id: 1, display_name: 'Ada Lovelace' },
  { id: 2, display_name: 'Bob' },
  { id: 3, display_name: 'Bob' },
  { id: 4, display_name: 'José Núñez' },
  { id: 5, display_name: 'Grace Hopper' },
  { id: 6, display_name: 'Adam Smith' },
  { id: 7, display_name: 'Barbara Liskov' },
];

test('an @ at the start or after white space opens a query up to the caret', () => {
  assert.deepEqual(findMentionQuery('@ad'), { start: 0, end: 3, query: 'ad' });
  assert.deepEqual(findMentionQuery('hi @Ada Lo'), { start: 3, end: 10, query: 'Ada Lo' });
  assert.deepEqual(findMentionQuery('hi @', 4), { start: 3, end: 4, query: '' });
  assert.deepEqual(findMentionQuery('(@gr'), { start: 1, end: 4, query: 'gr' });
  assert.deepEqual(findMentionQuery('line\n@bo'), { start: 5, end: 8, query: 'bo' });
});

test('the query is the text before the caret, not after it', () => {
  assert.deepEqual(findMentionQuery('hi @adams there', 6), { start: 3, end: 6, query: 'ad' });
});

test('no query in an e-mail address, a finished mention, another line or after two spaces', () => {
  assert.equal(findMentionQuery('ada@example'), null);
  assert.equal(findMentionQuery('@**Bob** hi'), null);
  assert.equal(findMentionQuery('@bo\nthen'), null);
  assert.equal(findMentionQuery('@ada  lo'), null);
  assert.equal(findMentionQuery('@ x'), null);
  assert.equal(findMentionQuery('no at sign'), null);
  assert.equal(findMentionQuery(`@${'a'.repeat(41)}`), null);
});

test('members are ranked whole name, then start, then a word, then anywhere', () => {
  const names = (query) => filterMembers(members, query, { includeAll: false }).map((m) => m.display_name);
  assert.deepEqual(names('ada'), ['Ada Lovelace', 'Adam Smith']);
  assert.deepEqual(names('bob'), ['Bob', 'Bob']);
  assert.deepEqual(names('ho'), ['Grace Hopper']);
  assert.deepEqual(names('ov'), ['Ada Lovelace', 'Barbara Liskov']);
  assert.deepEqual(names('b'), ['Barbara Liskov', 'Bob', 'Bob']);
  assert.deepEqual(names('zzz'), []);
});

test('matching ignores case and accents', () => {
  assert.deepEqual(filterMembers(members, 'JOSE nu').map((m) => m.id), [4]);
  assert.equal(fold('Núñez'), 'nunez');
});

test('at most eight members, and the author can be left out', () => {
  const many = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, display_name: `Member ${i + 1}` }));
  assert.equal(filterMembers(many, 'mem').length, 8);
  assert.equal(filterMembers(many, 'mem', { limit: 3 }).length, 3);
  assert.ok(!filterMembers(members, 'ada', { excludeId: 1 }).some((m) => m.id === 1));
});

test('@all is offered while the query could be "all", first when it is', () => {
  assert.equal(filterMembers(members, 'al').at(-1), ALL);
  assert.equal(filterMembers(members, 'all')[0], ALL);
  assert.ok(filterMembers(members, '').includes(ALL));
  assert.ok(!filterMembers(members, 'bo').includes(ALL));
  assert.ok(!filterMembers(members, 'al', { includeAll: false }).includes(ALL));
});

test('a mention is @**Name**, with the id only when another member has the same name', () => {
  assert.equal(mentionMarkup(members[0], members), '@**Ada Lovelace**');
  assert.equal(mentionMarkup(members[2], members), '@**Bob|3**');
  assert.equal(mentionMarkup(ALL, members), '@**all**');
});

test('choosing a member replaces the query and puts the caret after a space', () => {
  const text = 'hi @ad';
  const found = findMentionQuery(text);
  assert.deepEqual(applyMention(text, found, members[0], members), { text: 'hi @**Ada Lovelace** ', caret: 21 });
});

test('choosing in the middle of the text keeps what follows and does not double a space', () => {
  const text = 'hi @gr and more';
  const found = findMentionQuery(text, 6);
  const result = applyMention(text, found, members[4], members);
  assert.equal(result.text, 'hi @**Grace Hopper** and more');
  assert.equal(result.text.slice(0, result.caret), 'hi @**Grace Hopper** ');
});

test('choosing @all inserts @**all**', () => {
  const found = findMentionQuery('@al');
  assert.deepEqual(applyMention('@al', found, ALL, members), { text: '@**all** ', caret: 9 });
});
