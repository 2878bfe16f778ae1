import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isBlank } from '../../static/js/parley/blank.js';
import { canSendWith } from '../../static/js/parley/files.js';

// The server's rule (rooms/messaging.py check_body): these bodies are refused with 400.
const BLANK = ['', ' ', '   \n\t  ', '\u3000\u2003', '\n', '\u200b', ' \u200c\u200d\n', '\u2060', '\ufeff', '\x1c\x85'];
const VISIBLE = ['a', ' ok ', '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}', 'a\u200b', '\u200b.', '·'];

test('white space and invisible characters alone are blank, as the server says', () => {
  for (const text of BLANK) assert.equal(isBlank(text), true, JSON.stringify(text));
  for (const text of VISIBLE) assert.equal(isBlank(text), false, JSON.stringify(text));
  assert.equal(isBlank(null), true);
  assert.equal(isBlank(undefined), true);
});

test('Send is off for a blank composer, unless a file is ready', () => {
  const ready = [{ key: 1, status: 'done', upload: { id: 'u1' } }];
  for (const text of BLANK) {
    assert.equal(canSendWith(text, []), false, JSON.stringify(text));
    assert.equal(canSendWith(text, ready), true, JSON.stringify(text));
  }
  for (const text of VISIBLE) assert.equal(canSendWith(text, []), true, JSON.stringify(text));
});
