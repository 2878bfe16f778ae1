/* The members panel: who is in the open room and online, and inviting someone to a private room. */

import { dom } from './dom.js';
import { handleAuthError, toast } from './notices.js';
import { refreshDetail } from './room.js';
import { api, me, roomPath, state } from './state.js';
import { debounce, el, lastSeen, presenceDot } from './ui.js';

function memberItem(member) {
  const live = state.presence.get(member.id) || {};
  const presence = live.presence || member.presence;
  const seen = live.last_seen !== undefined ? live.last_seen : member.last_seen;
  return el('li', { className: 'member', dataset: { userId: member.id } }, [
    presenceDot(presence),
    el('span', { className: 'member-name', text: member.display_name }),
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

export const searchInvitees = debounce(async () => {
  const view = state.view;
  const q = dom.inviteSearch.value.trim();
  if (!view || !q) {
    dom.inviteResults.replaceChildren();
    return;
  }
  try {
    const data = await api.get('users', { q });
    if (state.view !== view || dom.inviteSearch.value.trim() !== q) return;
    const users = (data.users || []).filter((u) => !view.members.has(u.id)).slice(0, 8);
    dom.inviteResults.replaceChildren(...(users.length
      ? users.map((u) => el('li', {}, [
        el('button', { type: 'button', className: 'invite-choice', dataset: { userId: u.id } }, [
          presenceDot(u.presence),
          el('span', { text: u.display_name }),
        ]),
      ]))
      : [el('li', { className: 'empty', text: 'Nobody else matches.' })]));
  } catch (err) {
    if (!handleAuthError(err)) dom.inviteResults.replaceChildren(el('li', { className: 'empty', text: err.message }));
  }
}, 250);

export async function invite(userId, name) {
  const view = state.view;
  if (!view) return;
  try {
    await api.post(roomPath(view.slug, '/invite'), { user_id: userId });
    dom.inviteSearch.value = '';
    dom.inviteResults.replaceChildren();
    toast(`${name} was added to the room.`);
    refreshDetail();
  } catch (err) {
    if (!handleAuthError(err)) toast(err.message);
  }
}
