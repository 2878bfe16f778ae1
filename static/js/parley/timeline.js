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

/**
 * Return the timeline with `msg` (an edited or reacted-to message) in place of
 * the copy it holds; a message it does not hold is not added (it lies outside
 * the loaded history).
 */
export function replaceMessage(timeline, msg) {
  if (!timeline.messages.has(msg.id)) return { timeline, replaced: false };
  const next = new Map(timeline.messages);
  next.set(msg.id, msg);
  return { timeline: { ...timeline, messages: next }, replaced: true };
}

/**
 * Return the timeline without message `id`, and the ids of the messages whose
 * reply quote now reads "message deleted". `minId` stays: it is where paging
 * back continues from. `maxId` is the newest message left.
 */
export function removeMessage(timeline, id) {
  const { messages, minId } = timeline;
  const replies = [];
  const quoted = [...messages.values()].some((msg) => msg.reply_to && msg.reply_to.id === id && !msg.reply_to.deleted);
  // Replies may quote a message older than the loaded history: they change all the same.
  if (!messages.has(id) && !quoted) return { timeline, removed: false, replies };
  const next = new Map();
  let maxId = null;
  for (const [key, msg] of messages) {
    if (key === id) continue;
    let kept = msg;
    if (msg.reply_to && msg.reply_to.id === id && !msg.reply_to.deleted) {
      kept = { ...msg, reply_to: { id, deleted: true } };
      replies.push(key);
    }
    next.set(key, kept);
    if (maxId === null || key > maxId) maxId = key;
  }
  return { timeline: { messages: next, minId, maxId }, removed: messages.has(id), replies };
}

/**
 * Return the timeline with the replies to message `id` quoting `excerpt`
 * (it was edited), and the ids of the replies that changed.
 */
export function requote(timeline, id, excerpt) {
  const replies = [];
  let next = null;
  for (const [key, msg] of timeline.messages) {
    const quote = msg.reply_to;
    if (!quote || quote.id !== id || quote.deleted || quote.excerpt === excerpt) continue;
    next = next || new Map(timeline.messages);
    next.set(key, { ...msg, reply_to: { ...quote, excerpt } });
    replies.push(key);
  }
  return { timeline: next ? { ...timeline, messages: next } : timeline, replies };
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
