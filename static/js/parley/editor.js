/*
 * Editing my own message in place: a textarea replaces its body; Enter saves
 * (PATCH /api/messages/{id}), Shift+Enter is a new line, Esc cancels. The
 * server decides who may edit and until when (PARLEY_EDIT_SECONDS); its
 * refusal is shown under the editor, which stays open. The editor completes
 * mentions and :shortcodes: as the composer does (autocomplete.js).
 */

import { attachAutocomplete } from './autocomplete.js';
import { dom } from './dom.js';
import { rerenderMessage, updateMessageInView } from './messages.js';
import { handleAuthError, logUnexpected } from './notices.js';
import { api, MAX_CHARS, me, state } from './state.js';
import { inOrder } from './timeline.js';
import { el } from './ui.js';

function editError(err) {
  if (err.code === 'edit_window_closed') return 'This message can no longer be edited: the time for edits has passed.';
  if (err.status === 403) return err.message || 'You can only edit your own messages.';
  if (err.status === 404) return 'This message no longer exists.';
  if (err.status === 0) return 'Could not reach the server. Try again.';
  return err.message;
}

function showError(edit, text) {
  edit.error.textContent = text;
  edit.error.hidden = !text;
  if (text) edit.form.scrollIntoView({ block: 'nearest' });
}

async function save(view, edit) {
  const body = edit.textarea.value.trim();
  const msg = view.messages.get(edit.id);
  if (!msg) {
    cancelEdit(view);
    return;
  }
  if (body === msg.body) {
    cancelEdit(view);
    return;
  }
  if (!body) {
    showError(edit, 'A message cannot be empty. To remove it, delete it instead.');
    return;
  }
  if (Array.from(body).length > MAX_CHARS) {
    showError(edit, `Messages can be at most ${MAX_CHARS} characters.`);
    return;
  }
  edit.form.classList.add('saving');
  edit.textarea.readOnly = true;
  showError(edit, '');
  try {
    const data = await api.patch(`messages/${edit.id}`, { body });
    if (view.editing !== edit) return;
    endEdit(view, edit);
    if (data && data.message) updateMessageInView(view, data.message);
  } catch (err) {
    if (handleAuthError(err)) return;
    logUnexpected(err);
    if (view.editing !== edit) return;
    edit.form.classList.remove('saving');
    edit.textarea.readOnly = false;
    showError(edit, editError(err));
    edit.textarea.focus();
  }
}

function endEdit(view, edit) {
  view.editing = null;
  const li = view.elements.get(edit.id);
  edit.form.remove();
  if (li) li.classList.remove('editing');
  rerenderMessage(view, edit.id); // with whatever arrived meanwhile
  const target = edit.returnTo && edit.returnTo.isConnected ? edit.returnTo : view.elements.get(edit.id);
  if (target) target.focus({ preventScroll: true });
}

/** Leave the editor without saving. */
export function cancelEdit(view = state.view) {
  if (view && view.editing) endEdit(view, view.editing);
}

/** Edit message `id` (mine) in place; `returnTo` gets the focus back afterwards. */
export function startEdit(view, id, { returnTo = null } = {}) {
  const msg = view.messages.get(id);
  const li = view.elements.get(id);
  if (!msg || !li || msg.author.id !== me.id) return false;
  if (view.editing) cancelEdit(view);
  const textarea = el('textarea', { className: 'edit-input', 'aria-label': 'Edit message', rows: '2' });
  textarea.value = msg.body;
  const error = el('div', { className: 'notice error editor-error', role: 'alert', hidden: true });
  const saveButton = el('button', { type: 'button', className: 'button primary small', text: 'Save' });
  const cancelButton = el('button', { type: 'button', className: 'button subtle small', text: 'Cancel' });
  const form = el('div', { className: 'editor' }, [
    textarea,
    error,
    el('div', { className: 'editor-meta' }, [
      el('span', { className: 'hint', text: 'Enter to save, Esc to cancel, Shift+Enter for a new line' }),
      el('span', { className: 'editor-buttons' }, [cancelButton, saveButton]),
    ]),
  ]);
  const edit = { id, form, textarea, error, returnTo };
  view.editing = edit;
  li.classList.add('editing');
  li.querySelector('.body').after(form);
  const completion = attachAutocomplete(textarea, {
    container: form, members: () => [...view.members.values()], meId: me.id, placement: 'below',
  });
  textarea.addEventListener('keydown', (event) => {
    event.stopPropagation(); // arrow keys and Esc belong to the textarea, not to the message list
    if (completion.onKeydown(event)) return;
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      save(view, edit);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      cancelEdit(view);
    }
  });
  saveButton.addEventListener('click', () => save(view, edit));
  cancelButton.addEventListener('click', () => cancelEdit(view));
  textarea.focus({ preventScroll: true });
  form.scrollIntoView({ block: 'nearest' });
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  return true;
}

/** Up arrow in an empty composer: edit my newest message in the open room. */
export function editLastMine(view = state.view) {
  if (!view) return false;
  const mine = inOrder(view).filter((m) => m.author.id === me.id);
  const last = mine[mine.length - 1];
  return Boolean(last) && startEdit(view, last.id, { returnTo: dom.composer });
}
