import assert from 'node:assert/strict';
import { test } from 'node:test';

import { firstRoom, messageIdFromSearch, roomTitle, roomUrl, sidebarRooms, slugFromPath } from '../../static/js/parley/rooms.js';

const ME = 1;
const dm = (slug, other, last) => ({ slug, kind: 'dm', dm_users: [{ id: ME, display_name: 'Me' }, other], last_message_id: last });

test('a DM is called by the other person', () => {
  assert.equal(roomTitle(dm('d', { id: 2, display_name: 'Bob' }, 1), ME), 'Bob');
  assert.equal(roomTitle({ kind: 'room', name: 'Lobby' }, ME), 'Lobby');
});

test('the sidebar lists rooms by name and DMs newest first, hiding rooms I left unless open', () => {
  const rooms = [
    { slug: 'z', kind: 'room', name: 'Zebra' },
    { slug: 'a', kind: 'room', name: 'Aardvark' },
    { slug: 'gone', kind: 'room', name: 'Gone', is_member: false },
    dm('d1', { id: 2, display_name: 'Bob' }, 5),
    dm('d2', { id: 3, display_name: 'Cy' }, 9),
  ];
  const lists = sidebarRooms(rooms, null, ME);
  assert.deepEqual(lists.rooms.map((r) => r.slug), ['a', 'z']);
  assert.deepEqual(lists.dms.map((r) => r.slug), ['d2', 'd1']);
  assert.deepEqual(sidebarRooms(rooms, 'gone', ME).rooms.map((r) => r.slug), ['a', 'gone', 'z']);
  assert.equal(firstRoom(rooms, { exclude: 'a', meId: ME }).slug, 'z');
});

test('room URLs follow the template, also under a sub-path', () => {
  assert.equal(roomUrl('/chat/rooms/__slug__/', 'a b', 7), '/chat/rooms/a%20b/?message=7');
  assert.equal(slugFromPath('/chat/rooms/__slug__/', '/chat/rooms/a%20b/'), 'a b');
  assert.equal(slugFromPath('/chat/rooms/__slug__/', '/rooms/a/'), null);
  assert.equal(messageIdFromSearch('?message=12'), 12);
  assert.equal(messageIdFromSearch('?message=-1'), null);
});
