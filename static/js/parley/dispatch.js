/*
 * Server events in, page out: each handler asks events.js (pure) what the
 * event changes, stores that, and redraws what it touched.
 */

import { confirmSent } from './composer.js';
import { cancelEdit } from './editor.js';
import {
  applyMessage, applyMessageDeleted, applyMessageUpdated, applyPresence, applyReaction, applyReceipt, applyRoomEvent,
} from './events.js';
import { renderMembers } from './members.js';
import { removeMessageFromView, showLiveMessage, updateMessageInView, updateSeenBy } from './messages.js';
import { notify } from './notifications.js';
import { cancelReply } from './reply.js';
import { forgetRoom, refreshDetail, renderComposerState, renderHeader } from './room.js';
import { refreshRooms } from './roomlist.js';
import { isAtBottom } from './scroll.js';
import { renderSidebar, updateUnread } from './sidebar.js';
import { me, rememberPeople, state, storeRooms } from './state.js';
import { clearTyping, onTypingEvent } from './typing.js';

function onMessageEvent(event) {
  const msg = event.message;
  clearTyping(event.room || msg.room, msg.author.id);
  const view = state.view;
  const result = applyMessage({
    meId: me.id,
    rooms: state.rooms,
    pending: (clientId) => state.pending.has(clientId),
    view: view && {
      slug: view.slug,
      known: (id) => view.messages.has(id),
      atBottom: isAtBottom(),
      visible: document.visibilityState === 'visible',
    },
  }, event);
  if (result.confirm) {
    confirmSent(msg, result.slug);
    return;
  }
  storeRooms(result.rooms);
  if (result.refreshRooms) refreshRooms();
  if (result.show) showLiveMessage(view, msg);
  const room = state.rooms.get(result.slug);
  if (result.counted) updateUnread(result.slug);
  if (result.notify) notify(room, msg, Boolean(view && view.slug === result.slug));
  if (result.resort) renderSidebar();
}

/** The open room's copy of message `id`, if it holds it (message ids are unique across rooms). */
function heldMessage(id) {
  const view = state.view;
  return (view && view.messages.get(id)) || null;
}

/** Store what a pure handler returned about the rooms, and redraw the badges that moved. */
function storeCounts(result) {
  if (result.rooms !== state.rooms) {
    storeRooms(result.rooms);
    if (result.slug) updateUnread(result.slug);
  }
  if (result.refreshRooms) refreshRooms(); // the server's counts settle what the client cannot tell
}

function onMessageUpdatedEvent(event) {
  if (!event.message) return;
  rememberPeople([event.message.author]);
  const result = applyMessageUpdated({
    meId: me.id, rooms: state.rooms, lastRead: state.lastRead, known: heldMessage,
  }, event);
  storeCounts(result);
  const view = state.view;
  if (view && view.slug === result.slug) updateMessageInView(view, result.msg);
}

function onMessageDeletedEvent(event) {
  const result = applyMessageDeleted({
    meId: me.id, rooms: state.rooms, lastRead: state.lastRead, known: heldMessage,
  }, event);
  storeCounts(result);
  const view = state.view;
  if (!view) return;
  if (view.editing && view.editing.id === result.id) cancelEdit(view);
  if (view.replyTo && view.replyTo.id === result.id) cancelReply(view);
  removeMessageFromView(view, result.id);
}

function onReactionEvent(event) {
  rememberPeople([event.user]);
  const result = applyReaction({ known: heldMessage }, event);
  if (result.msg && state.view) updateMessageInView(state.view, result.msg);
}

function onPresenceEvent(event) {
  const { userId, live } = applyPresence(event);
  state.presence.set(userId, live);
  const view = state.view;
  const member = view && view.members.get(userId);
  if (member) {
    Object.assign(member, live);
    renderMembers(view);
  }
}

function onReceiptEvent(event) {
  const result = applyReceipt({ meId: me.id, rooms: state.rooms, lastRead: state.lastRead }, event);
  if (result.mine) {
    state.lastRead = result.lastRead;
    storeRooms(result.rooms);
    if (result.cleared) updateUnread(event.room);
    return;
  }
  const view = state.view;
  if (!view || view.slug !== result.room) return;
  const member = view.members.get(result.userId);
  if (member) {
    member.last_read_message_id = Math.max(member.last_read_message_id || 0, result.messageId);
    updateSeenBy(view);
  } else {
    refreshDetail();
  }
}

function onRoomEvent(event) {
  const result = applyRoomEvent({ meId: me.id, rooms: state.rooms }, event);
  if (!result) return;
  const { slug } = result;
  if (result.left) {
    if (result.known) forgetRoom(slug);
    refreshRooms();
    return;
  }
  if (result.rooms !== state.rooms) state.rooms.set(slug, result.room);
  renderSidebar();

  const view = state.view;
  if (view && view.slug === slug) {
    view.room = result.room;
    renderHeader(view);
    renderComposerState(view);
    refreshDetail();
  }
  refreshRooms(); // the server's per-user view (membership, unread) settles any doubt
}

const EVENT_HANDLERS = {
  message: onMessageEvent,
  message_updated: onMessageUpdatedEvent,
  message_deleted: onMessageDeletedEvent,
  reaction: onReactionEvent,
  typing: onTypingEvent,
  presence: onPresenceEvent,
  receipt: onReceiptEvent,
  room: onRoomEvent,
};

export function dispatch(event) {
  const handler = EVENT_HANDLERS[event.type];
  if (!handler) return;
  try {
    handler(event);
  } catch (err) {
    console.error('Parley: could not handle event', event, err); // eslint-disable-line no-console
  }
}
