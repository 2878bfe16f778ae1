/*
 * The composer's files: the paperclip (a file input), drag and drop onto the
 * room, and a pasted image. Each file uploads at once (api.upload, with
 * progress) into the open room and shows as a chip above the composer with
 * its name, size, a progress bar and ×, which aborts a running upload or
 * takes a finished one out of the message. The states are files.js's.
 *
 * Send is disabled while an upload is still running (and Enter says so):
 * a message then never leaves without a file the writer chose.
 */

import { dom } from './dom.js';
import {
  addPending, busy, canSendWith, checkFiles, fraction, humanSize, liveCount, pastedName, pendingEntry, removePending,
  startUpload, uploadCancelled, uploadDone, uploadFailed, uploadProgress,
} from './files.js';
import { handleAuthError, logUnexpected } from './notices.js';
import { api, MAX_UPLOAD_BYTES, roomPath, state } from './state.js';
import { el } from './ui.js';

let list = []; // files.js pending entries, for the room in `slug`
let slug = null;
let nextKey = 1;
const handles = new Map(); // key -> {abort}
let changed = () => {};

/** Call `fn` whenever the pending uploads change (the composer recomputes Send). */
export function onUploadsChange(fn) {
  changed = fn;
}

export const pendingUploads = () => list;
export const uploadsBusy = () => busy(list);

function set(next) {
  list = next;
  render();
  changed();
}

/** Enable Send when there is text or a finished upload and no upload running; the paperclip with the composer. */
export function renderSendButton(enabled) {
  dom.send.disabled = !enabled || !canSendWith(dom.composer.value, list);
  dom.attachButton.disabled = !enabled;
}

function errorText(err, name) {
  if (err.status === 413) return `${name}: ${err.message || 'too large.'}`;
  if (err.status === 0) return `${name} was not uploaded: ${err.message}`;
  return `${name} was not uploaded: ${err.message}`;
}

function start(key, file, room) {
  list = startUpload(list, key);
  const handle = api.upload(roomPath(room, '/uploads'), file, {
    onProgress: (loaded, total) => {
      list = uploadProgress(list, key, loaded, total);
      renderProgress(key);
    },
  });
  handles.set(key, handle);
  handle.promise.then(
    (data) => {
      if (slug === room) set(uploadDone(list, key, data.upload));
    },
    (err) => {
      if (err.name === 'AbortError' || slug !== room) return;
      if (handleAuthError(err)) return;
      if (err.status >= 500 || err.status === 0) logUnexpected(err);
      set(uploadFailed(list, key, errorText(err, file.name)));
    },
  ).finally(() => handles.delete(key));
}

/**
 * Add chosen, dropped or pasted files to the message being written: the
 * ones over the size limit or past ten per message show their error and
 * are not uploaded; the others start uploading.
 */
export function addFiles(files, { pasted = false } = {}) {
  const view = state.view;
  if (!view || dom.attachButton.disabled || !files.length) return;
  if (slug !== view.slug) resetUploads();
  slug = view.slug;
  const named = pasted
    ? files.map((file) => {
      const name = pastedName(file.name, file.type);
      return name === file.name ? file : new File([file], name, { type: file.type, lastModified: file.lastModified });
    })
    : files;
  const { accepted, refused } = checkFiles(named, { maxBytes: MAX_UPLOAD_BYTES, count: liveCount(list) });
  const queued = accepted.map((file) => ({ key: nextKey++, file }));
  list = addPending(list, [
    ...queued.map(({ key, file }) => pendingEntry(key, file)),
    ...refused.map(({ file, error }) => pendingEntry(nextKey++, file, error)),
  ]);
  for (const { key, file } of queued) start(key, file, slug);
  set(list);
}

/** × on a chip: abort a running upload, or take the file out of the message. */
function dropEntry(key) {
  const handle = handles.get(key);
  if (handle) handle.abort();
  set(removePending(uploadCancelled(list, key), key));
}

/** The finished uploads for a send (in order); the chips clear. */
export function takeUploads() {
  const done = list.filter((item) => item.status === 'done').map((item) => item.upload);
  set([]);
  return done;
}

/** Leaving the room (or the page): abort what is running and forget the chips. */
export function resetUploads() {
  for (const handle of handles.values()) handle.abort();
  handles.clear();
  slug = state.view ? state.view.slug : null;
  if (list.length) set([]);
}

// ---- Drawing ---------------------------------------------------------------------

function statusText(item) {
  if (item.status === 'failed') return item.error;
  if (item.status === 'done') return humanSize(item.size);
  if (item.status === 'uploading') return `${humanSize(item.loaded)} of ${humanSize(item.size)}`;
  return `${humanSize(item.size)}, waiting`;
}

function chip(item) {
  const running = item.status === 'queued' || item.status === 'uploading';
  const label = running ? `Cancel uploading ${item.name}` : `Remove ${item.name}`;
  const remove = el('button', {
    type: 'button', className: 'upload-remove', 'aria-label': label, title: label, dataset: { key: String(item.key) },
  }, [el('span', { 'aria-hidden': 'true', text: '×' })]);
  remove.addEventListener('click', () => {
    dropEntry(item.key);
    dom.composer.focus();
  });
  return el('li', { className: `upload-chip ${item.status}`, dataset: { key: String(item.key) } }, [
    el('span', { className: 'upload-icon', 'aria-hidden': 'true' }, [el('span', { className: 'action-icon' })]),
    el('span', { className: 'upload-info' }, [
      el('span', { className: 'upload-name', text: item.name, title: item.name }),
      el('span', { className: 'upload-status', text: statusText(item), role: item.status === 'failed' ? 'alert' : null }),
      running ? el('progress', {
        className: 'upload-progress', max: '1', value: String(fraction(item)), 'aria-label': `Uploading ${item.name}`,
      }) : null,
    ]),
    remove,
  ]);
}

function render() {
  const focusedKey = dom.uploadList.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  dom.uploadList.replaceChildren(...list.map(chip));
  dom.uploadList.hidden = list.length === 0;
  if (focusedKey) {
    const again = dom.uploadList.querySelector(`button[data-key="${CSS.escape(focusedKey)}"]`);
    if (again) again.focus();
  }
}

function renderProgress(key) {
  const item = list.find((entry) => entry.key === key);
  const li = dom.uploadList.querySelector(`li[data-key="${key}"]`);
  if (!item || !li) return;
  const bar = li.querySelector('progress');
  if (bar) bar.value = fraction(item);
  li.querySelector('.upload-status').textContent = statusText(item);
}

// ---- Where files come from ------------------------------------------------------------

const hasFiles = (event) => Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes('Files');

/** Paperclip, drop zone over `pane`, and paste into the composer (once, at startup). */
export function bindUploads(pane) {
  dom.attachButton.addEventListener('click', () => dom.fileInput.click());
  dom.fileInput.addEventListener('change', () => {
    addFiles([...dom.fileInput.files]);
    dom.fileInput.value = '';
    dom.composer.focus();
  });

  let depth = 0; // dragenter/dragleave pairs, as the pointer crosses child elements
  const hideZone = () => {
    depth = 0;
    dom.dropZone.hidden = true;
  };
  pane.addEventListener('dragenter', (event) => {
    if (!hasFiles(event) || dom.attachButton.disabled) return;
    event.preventDefault();
    depth += 1;
    dom.dropZone.hidden = false;
  });
  pane.addEventListener('dragover', (event) => {
    if (!hasFiles(event) || dom.attachButton.disabled) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    dom.dropZone.hidden = false;
  });
  pane.addEventListener('dragleave', (event) => {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0 || !pane.contains(event.relatedTarget)) hideZone();
  });
  pane.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    hideZone();
    addFiles([...event.dataTransfer.files]);
    dom.composer.focus();
  });
  // A file dropped anywhere else must not make the browser leave the chat to show it.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event) && !pane.contains(event.target)) event.preventDefault();
    });
  }
  window.addEventListener('dragend', hideZone);

  // A pasted screenshot. When the clipboard holds text too (a spreadsheet's cells come with
  // a picture of them), the text is what was meant: it pastes as usual.
  dom.composer.addEventListener('paste', (event) => {
    const data = event.clipboardData;
    if (!data || [...data.types].includes('text/plain')) return;
    const files = [...data.files];
    if (!files.length) return;
    event.preventDefault();
    addFiles(files, { pasted: true });
  });
  window.addEventListener('beforeunload', () => {
    for (const handle of handles.values()) handle.abort();
  });
}
