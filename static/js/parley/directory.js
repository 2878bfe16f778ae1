/*
 * The People page: search the directory of active users, see who is online,
 * open (or create) the direct-message room with someone, block or unblock them.
 */
import { createClient, readConfig, redirectToLogin } from './api.js';
import * as ui from './ui.js';

const { el } = ui;

const config = readConfig();
const api = createClient(config.apiRoot);
const form = document.getElementById('directory-form');
const input = document.getElementById('directory-search');
const list = document.getElementById('directory-list');
const status = document.getElementById('directory-status');
const blocked = new Set(config.blockedIds || []); // whom I block, as the page was made; kept as I change it
let seq = 0;

function roomUrl(slug) {
  return config.roomUrl.replace('__slug__', encodeURIComponent(slug));
}

function personItem(user) {
  const online = user.presence === 'online';
  return el('li', { className: 'person', dataset: { userId: user.id } }, [
    el('button', { type: 'button', className: 'person-button', dataset: { userId: user.id } }, [
      ui.avatar(user.display_name, user.id),
      el('span', { className: 'person-main' }, [
        el('span', { className: 'person-name', text: user.display_name }),
        ui.botTag(user),
        user.email ? el('span', { className: 'person-email', text: user.email }) : null,
      ]),
      el('span', { className: 'person-status' }, [
        ui.presenceDot(user.presence),
        el('span', { className: online ? 'online-label' : 'last-seen', text: online ? 'online' : ui.lastSeen(user.last_seen) }),
      ]),
      el('span', { className: 'person-action', text: 'Message' }),
    ]),
    blockButton(user),
  ]);
}

function blockButton(user) {
  const isBlocked = blocked.has(user.id);
  return el('button', {
    type: 'button',
    className: `button small subtle person-block${isBlocked ? ' blocked' : ''}`,
    dataset: { blockId: user.id, name: user.display_name },
    'aria-pressed': String(isBlocked),
    title: isBlocked ? 'Let them message and invite you again' : 'No messages or invitations from them, and hide what they write',
    text: isBlocked ? 'Unblock' : 'Block',
  });
}

async function toggleBlock(button) {
  const userId = Number(button.dataset.blockId);
  const name = button.dataset.name;
  const block = !blocked.has(userId);
  button.disabled = true;
  try {
    if (block) await api.post('blocks', { user_id: userId });
    else await api.del(`blocks/${userId}`);
    if (block) blocked.add(userId);
    else blocked.delete(userId);
    button.replaceWith(blockButton({ id: userId, display_name: name }));
    status.textContent = block
      ? `You blocked ${name}: they cannot message or invite you, and you will not see what they write.`
      : `You unblocked ${name}.`;
  } catch (err) {
    button.disabled = false;
    if (err.status === 401) redirectToLogin();
    else status.textContent = err.message;
  }
}

async function load() {
  const q = input.value.trim();
  const mine = ++seq;
  status.textContent = 'Loading…';
  try {
    const data = await api.get('users', q ? { q } : null);
    if (mine !== seq) return;
    const people = (data.users || []).filter((u) => u.id !== config.user.id);
    people.sort((a, b) => (a.presence === 'online' ? 0 : 1) - (b.presence === 'online' ? 0 : 1)
      || a.display_name.localeCompare(b.display_name));
    list.replaceChildren(...people.map(personItem));
    if (people.length) status.textContent = `${people.length} ${people.length === 1 ? 'person' : 'people'}`;
    else status.textContent = q ? `Nobody matches “${q}”.` : 'Nobody else is here yet.';
  } catch (err) {
    if (mine !== seq) return;
    if (err.status === 401) redirectToLogin();
    else status.textContent = err.message;
  }
}

async function openDm(button) {
  button.disabled = true;
  try {
    const data = await api.post('dms', { user_id: Number(button.dataset.userId) });
    window.location.assign(roomUrl(data.room.slug));
  } catch (err) {
    button.disabled = false;
    if (err.status === 401) redirectToLogin();
    else status.textContent = err.message;
  }
}

const loadSoon = ui.debounce(load, 250);
input.addEventListener('input', loadSoon);
form.addEventListener('submit', (event) => {
  event.preventDefault();
  loadSoon.cancel();
  load();
});
list.addEventListener('click', (event) => {
  const toggle = event.target.closest('button[data-block-id]');
  if (toggle) {
    toggleBlock(toggle);
    return;
  }
  const button = event.target.closest('button[data-user-id]');
  if (button) openDm(button);
});
// Presence changes over time; refresh now and then while the page is in view.
setInterval(() => { if (!document.hidden) load(); }, 60000);
load();
