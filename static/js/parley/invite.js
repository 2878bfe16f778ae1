/* Inviting someone to the open private room, from the members panel. */

import { dom } from './dom.js';
import { handleAuthError, toast } from './notices.js';
import { refreshDetail } from './room.js';
import { api, roomPath, state } from './state.js';
import { debounce, el, presenceDot } from './ui.js';

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
