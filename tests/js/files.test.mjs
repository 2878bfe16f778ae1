import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  addPending, busy, canSendWith, checkFiles, fileProblem, fraction, humanSize, isInlineImage, liveCount, MAX_FILES,
  pastedName, pendingEntry, readyIds, removePending, splitAttachments, startUpload, textOrFiles, thumbnailBox, typeLabel,
  uploadCancelled, uploadDone, uploadFailed, uploadProgress,
} from '../../static/js/parley/files.js';

const MB = 1024 * 1024;
const file = (name, size, type = '') => ({ name, size, type });

test('human sizes: bytes, one decimal below 10, whole numbers above', () => {
  assert.equal(humanSize(0), '0 B');
  assert.equal(humanSize(1), '1 B');
  assert.equal(humanSize(1023), '1023 B');
  assert.equal(humanSize(1024), '1 KB');
  assert.equal(humanSize(1536), '1.5 KB');
  assert.equal(humanSize(12 * 1024 + 300), '12 KB');
  assert.equal(humanSize(25 * MB), '25 MB');
  assert.equal(humanSize(3.45 * MB), '3.5 MB');
  assert.equal(humanSize(1024 * 1024 - 1), '1 MB'); // 1023.999 KB rounds up to the next unit
  assert.equal(humanSize(5 * 1024 * MB), '5 GB');
  assert.equal(humanSize(-1), '');
  assert.equal(humanSize('x'), '');
});

test('a file over the limit or empty is refused with its name and sizes', () => {
  assert.equal(fileProblem(file('a.png', 10), { maxBytes: 25 * MB }), null);
  assert.equal(fileProblem(file('big.mov', 30 * MB), { maxBytes: 25 * MB }),
    'big.mov is too large (30 MB; the limit is 25 MB).');
  assert.equal(fileProblem(file('exact', 25 * MB), { maxBytes: 25 * MB }), null);
  assert.equal(fileProblem(file('empty.txt', 0), { maxBytes: 25 * MB }), 'empty.txt is empty.');
  assert.equal(fileProblem(file('', 3)), 'This file has no name.');
});

test('at most ten files per message, counting the ones already there', () => {
  const many = Array.from({ length: 12 }, (_, i) => file(`f${i}.txt`, 5));
  const { accepted, refused } = checkFiles(many, { maxBytes: MB });
  assert.equal(accepted.length, MAX_FILES);
  assert.equal(refused.length, 2);
  assert.match(refused[0].error, /f10\.txt: at most 10 files per message/);

  const more = checkFiles([file('a', 1), file('b', 1), file('c', 1)], { maxBytes: MB, count: 8 });
  assert.deepEqual(more.accepted.map((f) => f.name), ['a', 'b']);
  assert.deepEqual(more.refused.map((r) => r.file.name), ['c']);

  // A refused big file does not use up a place.
  const mixed = checkFiles([file('huge', 2 * MB), file('ok', 1)], { maxBytes: MB, count: 9 });
  assert.deepEqual(mixed.accepted.map((f) => f.name), ['ok']);
  assert.match(mixed.refused[0].error, /too large/);
});

test('an upload goes queued -> uploading -> done, and Send waits for it', () => {
  const original = addPending([], [pendingEntry(1, file('a.png', 1000, 'image/png'))]);
  assert.equal(original[0].status, 'queued');
  assert.equal(busy(original), true);
  assert.equal(canSendWith('hello', original), false);

  let list = startUpload(original, 1);
  assert.equal(original[0].status, 'queued', 'the list given is never changed');
  assert.equal(list[0].status, 'uploading');
  list = uploadProgress(list, 1, 550, 1100); // the multipart body is larger than the file
  assert.equal(list[0].loaded, 500);
  assert.equal(fraction(list[0]), 0.5);
  assert.equal(canSendWith('', list), false);

  list = uploadDone(list, 1, { id: 'u1', size: 1000 });
  assert.equal(list[0].status, 'done');
  assert.equal(fraction(list[0]), 1);
  assert.equal(busy(list), false);
  assert.deepEqual(readyIds(list), ['u1']);
  assert.equal(canSendWith('', list), true, 'a finished upload may go without text');
  assert.equal(canSendWith('   ', []), false);
  assert.equal(canSendWith('hi', []), true);

  // A late progress event or a second answer changes nothing any more.
  assert.deepEqual(uploadProgress(list, 1, 1, 2), list);
  assert.deepEqual(uploadFailed(list, 1, 'late'), list);
  assert.deepEqual(uploadCancelled(list, 1), list);
});

test('failed and cancelled uploads neither block Send nor count against the limit', () => {
  let list = addPending([], [
    pendingEntry(1, file('a.txt', 10)),
    pendingEntry(2, file('b.txt', 10)),
    pendingEntry(3, file('c.txt', 10)),
    pendingEntry(4, file('big', 10), 'big is too large'),
  ]);
  assert.equal(list[3].status, 'failed');
  assert.equal(liveCount(list), 3);
  list = startUpload(startUpload(list, 1), 2);
  list = uploadFailed(list, 1, 'The server had a problem.');
  list = uploadCancelled(list, 2);
  list = uploadDone(startUpload(list, 3), 3, { id: 'u3', size: 10 });
  assert.deepEqual(list.map((i) => i.status), ['failed', 'cancelled', 'done', 'failed']);
  assert.equal(list[0].error, 'The server had a problem.');
  assert.equal(liveCount(list), 1);
  assert.equal(busy(list), false);
  assert.equal(canSendWith('', list), true);
  list = removePending(list, 3);
  assert.deepEqual(readyIds(list), []);
  assert.equal(canSendWith('', list), false);
});

test('a pasted clipboard image gets a dated screenshot name; a named file keeps its name', () => {
  const at = new Date(2026, 2, 5, 14, 5, 2);
  assert.equal(pastedName('image.png', 'image/png', at), 'screenshot-2026-03-05-140502.png');
  assert.equal(pastedName('', 'image/jpeg', at), 'screenshot-2026-03-05-140502.jpg');
  assert.equal(pastedName(undefined, 'image/webp', at), 'screenshot-2026-03-05-140502.webp');
  assert.equal(pastedName('holiday.jpg', 'image/jpeg', at), 'holiday.jpg');
});

test('only the four image types with a thumbnail show inline; others are cards with a type label', () => {
  const png = { id: 'a', name: 'a.png', content_type: 'image/png', thumbnail_url: '/t/a', width: 800, height: 600 };
  const svg = { id: 'b', name: 'b.svg', content_type: 'image/svg+xml', thumbnail_url: null };
  const noThumb = { id: 'c', name: 'c.gif', content_type: 'image/gif', thumbnail_url: null };
  const pdf = { id: 'd', name: 'report', content_type: 'application/pdf' };
  assert.equal(isInlineImage(png), true);
  assert.equal(isInlineImage(svg), false);
  assert.equal(isInlineImage(noThumb), false);
  const { images, files } = splitAttachments([svg, png, pdf, noThumb]);
  assert.deepEqual(images.map((u) => u.id), ['a']);
  assert.deepEqual(files.map((u) => u.id), ['b', 'd', 'c']);
  assert.deepEqual(splitAttachments(undefined), { images: [], files: [] });
  assert.equal(typeLabel(pdf), 'PDF');
  assert.equal(typeLabel({ name: 'notes.txt', content_type: 'text/plain; charset=utf-8' }), 'Text');
  assert.equal(typeLabel({ name: 'data.tar.gz', content_type: 'application/gzip' }), 'GZ');
  assert.equal(typeLabel({ name: 'noext', content_type: 'application/octet-stream' }), 'OCTET-STREAM');
  assert.equal(typeLabel({ name: 'noext', content_type: '' }), 'File');
});

test('a thumbnail is drawn within its box, keeping the ratio, never enlarged', () => {
  assert.deepEqual(thumbnailBox(800, 600), { width: 320, height: 240 });
  assert.deepEqual(thumbnailBox(600, 1200), { width: 160, height: 320 });
  assert.deepEqual(thumbnailBox(40, 30), { width: 40, height: 30 });
  assert.equal(thumbnailBox(null, 30), null);
});

test('a message of files alone is described by its files in one line', () => {
  assert.equal(textOrFiles('hello', [{ name: 'a.png' }]), 'hello');
  assert.equal(textOrFiles('', [{ name: 'a.png' }]), '📎 a.png');
  assert.equal(textOrFiles('  ', [{ name: 'a.png' }, { name: 'b.txt' }]), '📎 2 files');
  assert.equal(textOrFiles('', undefined), '');
});
