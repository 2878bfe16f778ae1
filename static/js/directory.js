/*
 * The People page: search the directory of active users, see who is online,
 * and open (or create) the direct-message room with someone.
 */
(function () {
  'use strict';

  const { createClient, readConfig, redirectToLogin } = window.ParleyAPI;
  const ui = window.ParleyUI;
  const { el } = ui;

  const config = readConfig();
  const api = createClient(config.apiRoot);
  const form = document.getElementById('directory-form');
  const input = document.getElementById('directory-search');
  const list = document.getElementById('directory-list');
  const status = document.getElementById('directory-status');
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
          user.email ? el('span', { className: 'person-email', text: user.email }) : null,
        ]),
        el('span', { className: 'person-status' }, [
          ui.presenceDot(user.presence),
          el('span', { className: online ? 'online-label' : 'last-seen', text: online ? 'online' : ui.lastSeen(user.last_seen) }),
        ]),
        el('span', { className: 'person-action', text: 'Message' }),
      ]),
    ]);
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
    const button = event.target.closest('button[data-user-id]');
    if (button) openDm(button);
  });
  // Presence changes over time; refresh now and then while the page is in view.
  setInterval(() => { if (!document.hidden) load(); }, 60000);
  load();
})();
