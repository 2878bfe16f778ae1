/*
 * My notification defaults on this page: the level of the rooms I set none
 * for, and the sound. They come with the page (parley_config) and change
 * through the notifications panel (notifications.js).
 */

import { config } from './state.js';

const settings = { notify_default: 'all', sound: false, ...(config.notifications || {}) };

export const notifyDefault = () => settings.notify_default;
export const soundOn = () => Boolean(settings.sound);

/** Keep what the server answered (GET or PATCH /api/me/notifications). */
export function storeNotifySettings(next) {
  Object.assign(settings, next);
}
