/*
 * "Create a room" in a dialog on the chat page (the + by the Rooms heading):
 * name, topic, public or private, ephemeral; POST /api/rooms; on success the
 * new room opens. The rooms page (/rooms/) keeps its own form for browsers
 * without scripts.
 */

import { focusComposer } from './composerfocus.js';
import { handleAuthError, logUnexpected } from './notices.js';
import { openRoom } from './room.js';
import { closePanels } from './sidebar.js';
import { hideSearch } from './search.js';
import { api, state } from './state.js';

const $ = (id) => document.getElementById(id);

const dialog = $('create-room-dialog');
const form = $('create-room-form');
const name = $('create-room-name');
const nameError = $('create-room-name-error');
const formError = $('create-room-error');
const submit = $('create-room-submit');

function showError(node, text, field = null) {
  node.textContent = text || '';
  node.hidden = !text;
  if (field) {
    if (text) field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  }
}

function reset() {
  form.reset();
  showError(nameError, '', name);
  showError(formError, '');
  submit.disabled = false;
}

export function openCreateRoom() {
  reset();
  dialog.showModal();
  name.focus();
}

async function create(event) {
  event.preventDefault();
  const data = new FormData(form);
  const roomName = String(data.get('name') || '').trim();
  showError(formError, '');
  if (!roomName) {
    showError(nameError, 'Give the room a name.', name);
    name.focus();
    return;
  }
  showError(nameError, '', name);
  submit.disabled = true;
  try {
    const answer = await api.post('rooms', {
      name: roomName,
      topic: String(data.get('topic') || '').trim(),
      is_private: data.get('visibility') === 'private',
      is_ephemeral: data.get('is_ephemeral') === 'on',
    });
    const room = { ...answer.room, is_member: true };
    state.rooms.set(room.slug, room);
    dialog.close();
    closePanels();
    hideSearch();
    await openRoom(room.slug, { push: true });
    focusComposer({ force: true });
  } catch (err) {
    submit.disabled = false;
    if (handleAuthError(err)) return;
    const fieldMessage = err.fields && err.fields.name;
    if (err.status === 409 || fieldMessage) {
      showError(nameError, fieldMessage ? [].concat(fieldMessage).join(' ') : err.message, name);
      name.focus();
    } else {
      if (!err.status || err.status >= 500) logUnexpected(err);
      showError(formError, err.message || 'Could not create the room.');
    }
  }
}

export function bindCreateRoom(opener) {
  opener.addEventListener('click', openCreateRoom);
  form.addEventListener('submit', create);
  dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
}
