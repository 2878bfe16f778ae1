/* The members panel: who is in the open room and online (inviting someone is invite.js's). */

import { dom } from './dom.js';
import { me, state } from './state.js';
import { botTag, el, lastSeen, presenceDot } from './ui.js';

function memberItem(member) {
  const live = state.presence.get(member.id) || {};
  const presence = live.presence || member.presence;
  const seen = live.last_seen !== undefined ? live.last_seen : member.last_seen;
  return el('li', { className: 'member', dataset: { userId: member.id } }, [
    presenceDot(presence),
    el('span', { className: 'member-name', text: member.display_name }),
    botTag(member),
    member.id === me.id ? el('span', { className: 'muted', text: '(you)' }) : null,
    presence === 'online' ? null : el('span', { className: 'last-seen', text: lastSeen(seen) }),
  ]);
}

export function renderMembers(view) {
  if (!view || state.view !== view) return;
  const members = [...view.members.values()].sort((a, b) => {
    const online = (m) => ((state.presence.get(m.id) || m).presence === 'online' ? 0 : 1);
    return online(a) - online(b) || a.display_name.localeCompare(b.display_name);
  });
  dom.members.replaceChildren(...members.map(memberItem));
  dom.memberCount.textContent = `(${members.length})`;
  const room = view.room;
  dom.inviteForm.hidden = !(room && room.kind === 'room' && room.is_private && room.is_member);
}
