/*
 * The room details dialog (the header's Details button): what kind of room
 * it is, its topic, members, creation date and how long it keeps messages.
 * The retention line itself stays room.js's (#room-retention, updated with
 * the header), it only lives in this dialog now rather than in the header.
 */

import { state } from './state.js';
import { titleOf } from './sidebar.js';
import { el } from './ui.js';

const dialog = document.getElementById('room-details');
const list = document.getElementById('room-details-list');
const heading = document.getElementById('room-details-heading');

function kindOf(room) {
  if (room.kind === 'dm') return 'Direct message';
  return room.is_private ? 'Private room: members invite others' : 'Public room: anyone can join';
}

function render() {
  const view = state.view;
  const room = view && view.room;
  heading.textContent = room ? `About ${titleOf(room)}` : 'Room details';
  if (!room) {
    list.replaceChildren();
    return;
  }
  const rows = [
    ['Kind', kindOf(room)],
    room.topic ? ['Topic', room.topic] : null,
    ['Members', String(room.member_count ?? view.members.size)],
    room.created_at ? ['Created', new Date(room.created_at).toLocaleDateString(undefined, { dateStyle: 'long' })] : null,
    room.is_ephemeral ? ['History', 'Ephemeral: messages are delivered live and never kept'] : null,
  ].filter(Boolean);
  list.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', { text: term }), el('dd', { text: value })]));
}

export function bindRoomDetails(opener) {
  opener.addEventListener('click', () => {
    render();
    dialog.showModal();
  });
  dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
}
