/*
 * The chat page's one shared state, its config (parley_config, rendered by
 * json_script) and its API client. Only the page's modules import this; the
 * pure modules take what they need as arguments.
 */

import { createClient, readConfig } from './api.js';

export const config = readConfig();
export const me = config.user;
export const api = createClient(config.apiRoot);
export const MAX_CHARS = config.maxMessageChars; // the server's PARLEY_MAX_MESSAGE_CHARS
export const MAX_UPLOAD_BYTES = config.maxUploadBytes || 25 * 1024 * 1024; // PARLEY_MAX_UPLOAD_MB

export const state = {
  rooms: new Map(), // slug -> room object (API.md, plus is_member)
  current: config.room || null, // slug of the open room
  view: null, // what is shown for the open room; replaced on every switch
  pending: new Map(), // client_id -> a message not yet confirmed
  lastRead: new Map(), // slug -> newest message id marked read
  presence: new Map(), // user id -> {presence, last_seen}, from events
  people: new Map(), // user id -> display name, from every user object seen (for reaction tooltips)
  wake: new AbortController(), // aborted (and replaced) to cut waits short
  pollAbort: null,
  sendQueue: Promise.resolve(),
  typingSent: Promise.resolve(), // the last typing notice, settled once the server has it
};

/** Store rooms a pure function returned, keeping the objects the page already holds. */
export function storeRooms(rooms) {
  for (const [slug, room] of rooms) {
    const old = state.rooms.get(slug);
    if (old === room) continue;
    if (old) Object.assign(old, room);
    else state.rooms.set(slug, room);
  }
}

/** Remember the display names of `users` ({id, display_name}; nulls skipped). */
export function rememberPeople(users) {
  for (const user of users) {
    if (user && user.id !== undefined && user.display_name) state.people.set(user.id, user.display_name);
  }
}

/** A user's display name, if the page has seen it; null otherwise. */
export function nameOf(userId) {
  const member = state.view && state.view.members.get(userId);
  return (member && member.display_name) || state.people.get(userId) || null;
}

export const roomPath = (slug, rest = '') => `rooms/${encodeURIComponent(slug)}${rest}`;
