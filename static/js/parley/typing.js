/* "… is typing": showing others' notices, and sending mine now and then while I type. */

import { isBlank } from './blank.js';
import { dom } from './dom.js';
import { handleAuthError } from './notices.js';
import { canSend } from './room.js';
import { api, me, roomPath, state } from './state.js';

const TYPING_SHOWN_MS = 6000;
const TYPING_SEND_EVERY_MS = 3000;

function renderTyping(view) {
  if (state.view !== view) return;
  const names = [...view.typing.values()].map((t) => t.name);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  dom.typing.textContent = text;
}

/** `userId` stopped typing in `slug` (their message came). */
export function clearTyping(slug, userId) {
  const view = state.view;
  if (!view || view.slug !== slug || !view.typing.has(userId)) return;
  clearTimeout(view.typing.get(userId).timer);
  view.typing.delete(userId);
  renderTyping(view);
}

/** A `typing` event: show it for a few seconds, unless it is mine or about another room. */
export function onTypingEvent(event) {
  const view = state.view;
  if (!event.user || event.user.id === me.id || !view || view.slug !== event.room) return;
  const previous = view.typing.get(event.user.id);
  if (previous) clearTimeout(previous.timer);
  view.typing.set(event.user.id, {
    name: event.user.display_name,
    timer: setTimeout(() => {
      view.typing.delete(event.user.id);
      renderTyping(view);
    }, TYPING_SHOWN_MS),
  });
  renderTyping(view);
}

export function sendTyping() {
  const view = state.view;
  if (!canSend(view) || isBlank(dom.composer.value)) return;
  const now = Date.now();
  if (now - view.lastTypingSent < TYPING_SEND_EVERY_MS) return;
  view.lastTypingSent = now;
  // After my sends still on their way: typing a follow-up must reach the server after the
  // message, which ends the server's throttle for me (a notice before it would be a repeat).
  const slug = view.slug;
  state.typingSent = state.sendQueue.then(() => {
    if (Date.now() - now < TYPING_SEND_EVERY_MS) {
      return api.post(roomPath(slug, '/typing'), undefined, { timeout: TYPING_SEND_EVERY_MS });
    }
    if (view.lastTypingSent === now) view.lastTypingSent = 0; // stale after a slow send: the next key says it
    return undefined;
  }).catch((err) => { handleAuthError(err); });
}
