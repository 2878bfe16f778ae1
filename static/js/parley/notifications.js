/*
 * Browser notifications (issue 14): the panel that explains them and asks
 * the browser's permission only when the reader clicks "Enable", the
 * notification levels (this room's and the default), the optional sound, and
 * the notification itself. What notifies is levels.js's rule.
 */

import { dom } from './dom.js';
import { textOrFiles } from './files.js';
import { LEVEL_LABELS, levelOf, shouldNotify } from './levels.js';
import { handleAuthError, logUnexpected, toast } from './notices.js';
import { notifyDefault, soundOn, storeNotifySettings } from './notifysettings.js';
import { plainText } from './richtext.js';
import { openRoom, renderBell } from './room.js';
import { hideSearch } from './search.js';
import { renderSidebar, titleOf } from './sidebar.js';
import { api, me, roomPath, state } from './state.js';
import { el, truncate } from './ui.js';
import { mentionsMe } from './unread.js';

const supported = () => 'Notification' in window;

// ---- The panel ------------------------------------------------------------------

const PERMISSION_TEXT = {
  unsupported: 'This browser cannot show notifications. The room list still shows what is unread.',
  default: 'Parley can show a notification from your browser when a message arrives in a room you are not '
    + 'looking at. Your browser will ask for your permission when you click Enable, and not before.',
  granted: 'On: this browser shows Parley\'s notifications. Nothing notifies for the room you are reading while '
    + 'this tab has the focus.',
  denied: 'Blocked: this browser refuses Parley\'s notifications. Allow them for this site in the browser\'s '
    + 'site settings, then reload the page.',
};

function permission() {
  return supported() ? Notification.permission : 'unsupported';
}

function renderPermission() {
  const now = permission();
  dom.notifyPermissionText.textContent = PERMISSION_TEXT[now] || PERMISSION_TEXT.default;
  dom.notifyEnable.hidden = now !== 'default';
  dom.notifyPanelButton.classList.toggle('on', now === 'granted');
  dom.notifyPanelStatus.textContent = now === 'granted' ? 'on' : now === 'denied' ? 'blocked' : 'off';
}

function levelOptions(select, { withDefault }) {
  const options = Object.entries(LEVEL_LABELS).map(([value, label]) => el('option', { value, text: label }));
  if (withDefault) {
    options.unshift(el('option', { value: '', text: `My default (${LEVEL_LABELS[notifyDefault()] || LEVEL_LABELS.all})` }));
  }
  select.replaceChildren(...options);
}

function renderPanel() {
  renderPermission();
  const room = state.view && state.rooms.get(state.view.slug);
  const member = Boolean(room) && room.is_member !== false;
  dom.notifyRoom.hidden = !member;
  if (member) {
    dom.notifyRoomName.textContent = titleOf(room);
    levelOptions(dom.notifyRoomLevel, { withDefault: true });
    dom.notifyRoomLevel.value = room.notify || '';
  }
  levelOptions(dom.notifyDefaultLevel, { withDefault: false });
  dom.notifyDefaultLevel.value = notifyDefault();
  dom.notifySound.checked = soundOn();
}

export function openNotifyPanel({ focusRoom = false } = {}) {
  renderPanel();
  if (!dom.notifyDialog.open) dom.notifyDialog.showModal();
  (focusRoom && !dom.notifyRoom.hidden ? dom.notifyRoomLevel : dom.notifyDialog.querySelector('h2')).focus();
}

async function enable() {
  if (permission() === 'default') {
    try {
      await Notification.requestPermission();
    } catch (err) {
      logUnexpected(err);
    }
  }
  renderPermission();
}

/** Set my level in the open room (null: my default); the list and the header follow. */
async function setRoomLevel(value) {
  const slug = state.view && state.view.slug;
  const room = slug && state.rooms.get(slug);
  if (!room) return;
  const level = value || null;
  try {
    const data = await api.patch(roomPath(slug, '/membership'), { notify: level });
    room.notify = data.membership.notify;
    if (state.view && state.view.room && state.view.slug === slug) state.view.room.notify = room.notify;
    afterLevelChange();
  } catch (err) {
    if (!handleAuthError(err)) toast(err.message);
    renderPanel();
  }
}

async function saveDefaults(changes) {
  try {
    const data = await api.patch('me/notifications', changes);
    storeNotifySettings(data.notifications);
    afterLevelChange();
  } catch (err) {
    if (!handleAuthError(err)) toast(err.message);
    renderPanel();
  }
}

function afterLevelChange() {
  renderSidebar();
  if (state.view) renderBell(state.rooms.get(state.view.slug) || state.view.room);
  renderPanel();
}

export function setUpNotifications() {
  renderPermission();
  dom.notifyPanelButton.addEventListener('click', () => openNotifyPanel());
  dom.roomNotify.addEventListener('click', () => openNotifyPanel({ focusRoom: true }));
  dom.notifyEnable.addEventListener('click', enable);
  dom.notifyRoomLevel.addEventListener('change', () => setRoomLevel(dom.notifyRoomLevel.value));
  dom.notifyDefaultLevel.addEventListener('change', () => saveDefaults({ notify_default: dom.notifyDefaultLevel.value }));
  dom.notifySound.addEventListener('change', () => {
    saveDefaults({ sound: dom.notifySound.checked });
    if (dom.notifySound.checked) playSound(); // so the reader hears what they chose
  });
  dom.notifyClose.addEventListener('click', () => dom.notifyDialog.close());
  // The permission may change in the browser's own settings meanwhile.
  document.addEventListener('visibilitychange', renderPermission);
}

// ---- Notifying --------------------------------------------------------------------

let audio = null;

/** A short two-note chime made with the Web Audio API (no file to fetch). */
export function playSound() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    audio = audio || new Context();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const start = audio.currentTime;
    for (const [i, frequency] of [880, 1320].entries()) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = 'sine';
      tone.frequency.value = frequency;
      const at = start + i * 0.12;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.3);
    }
  } catch (err) {
    logUnexpected(err);
  }
}

/** A message arrived in `room` (not mine, not a repeat): notify if my level there says so. */
export function notify(room, msg, inView) {
  const focused = document.visibilityState === 'visible' && document.hasFocus();
  const mentioned = mentionsMe(msg, me.id);
  const level = levelOf(room, notifyDefault());
  if (!shouldNotify({ level, mine: msg.author.id === me.id, mentioned, inView, focused })) return;
  if (soundOn()) playSound();
  if (!supported() || Notification.permission !== 'granted') return;
  try {
    const title = mentioned ? `${msg.author.display_name} mentioned you in ${titleOf(room)}` : titleOf(room);
    const note = new Notification(title, {
      body: truncate(`${msg.author.display_name}: ${textOrFiles(plainText(msg), msg.attachments)}`, 140), // the text, not the Markdown
      tag: `parley-${room.slug}`,
    });
    note.addEventListener('click', () => {
      window.focus();
      hideSearch(); // the room opens in the pane the results took, as any other way of opening one does
      if (state.current !== room.slug) openRoom(room.slug, { push: true });
      note.close();
    });
  } catch (err) {
    // Some browsers (Chrome on Android) allow notifications only from a service worker.
  }
}
