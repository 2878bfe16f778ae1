/*
 * Files, as plain data (no DOM): human sizes, what may be uploaded, the
 * composer's pending uploads and their states, and names for pasted images.
 * uploads.js draws and drives them; attachments.js shows sent ones.
 *
 * A pending upload is {key, name, size, type, status, loaded, error, upload}:
 *   queued -> uploading (loaded bytes) -> done (upload = the server's object)
 *                                      -> failed (error = what to tell)
 *                                      -> cancelled (then removed)
 * Every function returns a new list and never changes the one it was given.
 */

import { isBlank } from './blank.js';

export const MAX_FILES = 10; // per message
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** "0 B", "999 B", "1.5 KB", "12 KB", "3.4 MB": one decimal below 10, binary multiples. */
export function humanSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${Math.round(n)} B`;
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  if (rounded >= 1024 && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${rounded} ${UNITS[unit]}`;
}

/** The reason `file` ({name, size}) may not be uploaded, or null when it may. */
export function fileProblem(file, { maxBytes } = {}) {
  if (!file || !file.name) return 'This file has no name.';
  if (!file.size) return `${file.name} is empty.`;
  if (maxBytes && file.size > maxBytes) {
    return `${file.name} is too large (${humanSize(file.size)}; the limit is ${humanSize(maxBytes)}).`;
  }
  return null;
}

/**
 * Sort newly chosen `files` into those to upload and those refused, given
 * how many the message already has (`count`). Returns {accepted, refused:
 * [{file, error}]}; files past the per-message limit are refused too.
 */
export function checkFiles(files, { maxBytes, count = 0, limit = MAX_FILES } = {}) {
  const accepted = [];
  const refused = [];
  let room = Math.max(0, limit - count);
  for (const file of files) {
    const problem = fileProblem(file, { maxBytes });
    if (problem) refused.push({ file, error: problem });
    else if (room <= 0) refused.push({ file, error: `${file.name}: at most ${limit} files per message.` });
    else {
      accepted.push(file);
      room -= 1;
    }
  }
  return { accepted, refused };
}

// ---- The pending uploads ----------------------------------------------------

/** A new pending entry: queued, or already failed when `error` is given. */
export function pendingEntry(key, file, error = null) {
  return {
    key,
    name: file.name,
    size: file.size,
    type: file.type || '',
    status: error ? 'failed' : 'queued',
    loaded: 0,
    error,
    upload: null,
  };
}

function update(list, key, from, change) {
  return list.map((item) => (item.key === key && from.includes(item.status) ? { ...item, ...change } : item));
}

export const addPending = (list, entries) => [...list, ...entries];

export const startUpload = (list, key) => update(list, key, ['queued'], { status: 'uploading', loaded: 0 });

/** Progress of an upload: `loaded` of `total` bytes (the multipart body is a little larger than the file). */
export function uploadProgress(list, key, loaded, total) {
  return list.map((item) => {
    if (item.key !== key || item.status !== 'uploading') return item;
    const size = total || item.size || 1;
    return { ...item, loaded: Math.min(item.size, Math.round((loaded / size) * item.size)) };
  });
}

export const uploadDone = (list, key, upload) => update(list, key, ['uploading', 'queued'], {
  status: 'done', loaded: upload.size ?? 0, upload, error: null,
});

export const uploadFailed = (list, key, error) => update(list, key, ['uploading', 'queued'], { status: 'failed', error });

export const uploadCancelled = (list, key) => update(list, key, ['uploading', 'queued'], { status: 'cancelled' });

/** Take an entry out (the × on a finished, failed or cancelled one). */
export const removePending = (list, key) => list.filter((item) => item.key !== key);

/** 0..1 for a progress bar. */
export function fraction(item) {
  if (item.status === 'done') return 1;
  return item.size ? Math.min(1, item.loaded / item.size) : 0;
}

/** Uploads still running (or about to). */
export const busy = (list) => list.some((item) => item.status === 'queued' || item.status === 'uploading');

/** The ids of the finished uploads, in the order they were chosen. */
export const readyIds = (list) => list.filter((item) => item.status === 'done').map((item) => item.upload.id);

/** How many entries count against the per-message limit (failed and cancelled ones do not). */
export const liveCount = (list) => list.filter((item) => ['queued', 'uploading', 'done'].includes(item.status)).length;

/**
 * Whether Send may go: some text or at least one finished upload, and no
 * upload still running (Send waits for them rather than leaving one behind).
 */
export function canSendWith(text, list) {
  if (busy(list)) return false;
  return !isBlank(text) || readyIds(list).length > 0;
}

// ---- Pasted images ------------------------------------------------------------

const EXTENSIONS = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' };
const pad2 = (n) => String(n).padStart(2, '0');

/**
 * A name for a pasted file: a clipboard image arrives as "image.png" (or
 * with no name), so it becomes "screenshot-2026-03-05-140502.png" in local
 * time. A pasted file with a real name keeps it.
 */
export function pastedName(name, type, date = new Date()) {
  const generic = !name || /^image\.(png|jpe?g|gif|webp)$/i.test(name);
  if (!generic) return name;
  const ext = EXTENSIONS[type] || (name && name.split('.').pop()) || 'png';
  const stamp = `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`
    + `-${pad2(date.getHours())}${pad2(date.getMinutes())}${pad2(date.getSeconds())}`;
  return `screenshot-${stamp}.${ext}`;
}

// ---- Sent attachments ----------------------------------------------------------

/** Shown inline: one of the four image types, with a thumbnail. */
export function isInlineImage(upload) {
  return Boolean(upload && upload.thumbnail_url && INLINE_IMAGE_TYPES.has(upload.content_type));
}

/** A short label for a file's type: "PDF", "ZIP", "Text" … from its content type or name. */
export function typeLabel(upload) {
  const type = String((upload && upload.content_type) || '').toLowerCase().split(';')[0].trim();
  const known = {
    'application/pdf': 'PDF',
    'application/zip': 'ZIP',
    'text/plain': 'Text',
    'text/csv': 'CSV',
    'application/json': 'JSON',
  };
  if (known[type]) return known[type];
  const match = /\.([A-Za-z0-9]{1,8})$/.exec((upload && upload.name) || '');
  if (match) return match[1].toUpperCase();
  if (type.includes('/')) return type.split('/')[1].toUpperCase().slice(0, 12);
  return 'File';
}

/** Split a message's attachments into inline images and other files, keeping their order. */
export function splitAttachments(attachments) {
  const images = [];
  const files = [];
  for (const upload of attachments || []) (isInlineImage(upload) ? images : files).push(upload);
  return { images, files };
}

/** The size to draw a thumbnail at: within `box` px, keeping the ratio; null when unknown. */
export function thumbnailBox(width, height, box = 320) {
  if (!width || !height) return null;
  const scale = Math.min(1, box / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * What to say for a message in one line (notification, "Replying to"): its
 * text, or for a message of files alone "📎 name" / "📎 3 files".
 */
export function textOrFiles(text, attachments) {
  if (String(text || '').trim()) return text;
  const files = attachments || [];
  if (!files.length) return text || '';
  return files.length === 1 ? `📎 ${files[0].name}` : `📎 ${files.length} files`;
}
