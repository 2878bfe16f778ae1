/* Desktop notifications for messages the reader is not looking at. */

import { dom } from './dom.js';
import { textOrFiles } from './files.js';
import { logUnexpected } from './notices.js';
import { plainText } from './richtext.js';
import { openRoom } from './room.js';
import { titleOf } from './sidebar.js';
import { me, state } from './state.js';
import { truncate } from './ui.js';
import { mentionsMe } from './unread.js';

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
    const title = mentionsMe(msg, me.id) ? `${msg.author.display_name} mentioned you in ${titleOf(room)}` : titleOf(room);
    const note = new Notification(title, {
      body: truncate(`${msg.author.display_name}: ${textOrFiles(plainText(msg), msg.attachments)}`, 140), // the text, not the Markdown
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
