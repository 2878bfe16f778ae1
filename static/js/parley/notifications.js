/* Desktop notifications for messages the reader is not looking at. */

import { dom } from './dom.js';
import { logUnexpected } from './notices.js';
import { openRoom } from './room.js';
import { titleOf } from './sidebar.js';
import { state } from './state.js';
import { truncate } from './ui.js';

function renderNotifyButton() {
  const permission = Notification.permission;
  dom.notifyButton.hidden = false;
  dom.notifyButton.textContent = permission === 'granted' ? 'Notifications on'
    : permission === 'denied' ? 'Notifications blocked' : 'Enable notifications';
  dom.notifyButton.classList.toggle('on', permission === 'granted');
  dom.notifyButton.setAttribute('aria-pressed', String(permission === 'granted'));
  dom.notifyButton.title = permission === 'denied' ? 'Allow notifications for this site in the browser settings.' : '';
}

export function setUpNotifications() {
  if (!('Notification' in window)) return; // the button stays hidden
  renderNotifyButton();
  dom.notifyButton.addEventListener('click', async () => {
    if (Notification.permission === 'default') {
      try {
        await Notification.requestPermission();
      } catch (err) {
        logUnexpected(err);
      }
    }
    renderNotifyButton();
  });
}

export function notify(room, msg, inView) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (inView && !document.hidden) return;
  try {
    const note = new Notification(titleOf(room), {
      body: truncate(`${msg.author.display_name}: ${msg.body}`, 140),
      tag: `parley-${room.slug}`,
    });
    note.addEventListener('click', () => {
      window.focus();
      if (state.current !== room.slug) openRoom(room.slug, { push: true });
      note.close();
    });
  } catch (err) {
    // Some browsers (Chrome on Android) allow notifications only from a service worker.
  }
}
