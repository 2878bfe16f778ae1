import assert from 'node:assert/strict';
import { test } from 'node:test';

import { addFilter, hasMorePages, mergePage, resultRoomName } from '../../static/js/parley/searchpaging.js';

test('has_more from the server decides; without it, a full page means more', () => {
  assert.equal(hasMorePages({ has_more: false }, 50), false);
  assert.equal(hasMorePages({ has_more: true }, 3), true);
  assert.equal(hasMorePages({}, 50), true);
  assert.equal(hasMorePages({}, 49), false);
  assert.equal(hasMorePages(null, 0), false);
});

test('a further page adds only the messages not shown yet, in its order', () => {
  const shown = [{ id: 3 }, { id: 1 }];
  assert.deepEqual(mergePage(shown, [{ id: 1 }, { id: 7 }, { id: 5 }]).map((m) => m.id), [3, 1, 7, 5]);
});

test('a filter is added after one space', () => {
  assert.equal(addFilter('', 'from:'), 'from:');
  assert.equal(addFilter('deploy  ', 'has:file'), 'deploy has:file');
});

test('a result is named by the page\'s title for its room, else room_name, else the slug', () => {
  const msg = { room: 'ops', room_name: 'Operations' };
  assert.equal(resultRoomName(msg, () => 'Ops team'), 'Ops team');
  assert.equal(resultRoomName(msg, () => null), 'Operations');
  assert.equal(resultRoomName({ room: 'ops' }, () => ''), 'ops');
});
