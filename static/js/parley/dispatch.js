/*
 * Server events in, page out: each handler asks events.js (pure) what the
 * event changes, stores that, and redraws what it touched.
 */

import { confirmSent } from './composer.js';
import { applyMessage, applyPresence, applyReceipt, applyRoomEvent } from './events.js';
import { renderMembers } from './members.js';
import { showLiveMessage, updateSeenBy } from './messages.js';
import { notify } from './notifications.js';
import { forgetRoom, refreshDetail, renderComposerState, renderHeader } from './room.js';
import { refreshRooms } from './roomlist.js';
import { isAtBottom } from './scroll.js';
import { renderSidebar, updateUnread } from './sidebar.js';
import { me, state, storeRooms } from './state.js';
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
