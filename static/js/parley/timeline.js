/*
 * The open room's messages as plain data: a Map id -> message plus the
 * lowest and highest id, so that paging back and following live messages
 * need no scan. Messages are keyed by id, which is what makes a message that
 * arrives twice (history and event, answer and event) show once.
 */

import { dayKey } from './ui.js';

export const GROUP_WITHIN_MS = 5 * 60 * 1000; // same author within 5 min: one visual group

export function emptyTimeline() {
  return { messages: new Map(), minId: null, maxId: null };
}

/** Return the timeline with `messages` added, and which of them were new. */
export function addMessages({ messages, minId, maxId }, incoming) {
  const next = new Map(messages);
  const added = [];
  for (const msg of incoming) {
    if (next.has(msg.id)) continue;
    next.set(msg.id, msg);
    added.push(msg);
    if (minId === null || msg.id < minId) minId = msg.id;
    if (maxId === null || msg.id > maxId) maxId = msg.id;
  }
  return { timeline: { messages: added.length ? next : messages, minId, maxId }, added };
}

/** The messages oldest first. */
export function inOrder({ messages }) {
  return [...messages.keys()].sort((a, b) => a - b).map((id) => messages.get(id));
}

/** Whether a message continues the previous one's group (same author and day, soon after). */
export function continues(previous, authorId, iso) {
  if (!previous || previous.authorId !== authorId) return false;
  const gap = Date.parse(iso) - Date.parse(previous.createdAt);
  return gap >= 0 && gap < GROUP_WITHIN_MS && dayKey(new Date(iso)) === dayKey(new Date(previous.createdAt));
}
