/*
 * A message's attachments (API.md, Part 2: Files): the four inline image
 * types as thumbnails that open in the viewer (viewer.js), everything else
 * as a card with an icon, name, size, type and a download link. Names go in
 * as text; URLs are the server's own (same origin, so the CSP's img-src
 * 'self' covers them).
 */

import { humanSize, splitAttachments, thumbnailBox, typeLabel } from './files.js';
import { el } from './ui.js';

function thumbnail(upload, index) {
  const box = thumbnailBox(upload.width, upload.height);
  // width/height reserve the space before the image arrives (attributes, not styles: the CSP allows no inline style).
  return el('a', {
    className: 'attachment-image',
    href: upload.url,
    dataset: { viewIndex: String(index) },
    title: upload.name,
    'aria-label': `${upload.name} (${humanSize(upload.size)}), open full size`,
  }, [el('img', {
    src: upload.thumbnail_url,
    alt: upload.name,
    width: box ? String(box.width) : null,
    height: box ? String(box.height) : null,
    loading: 'lazy',
    decoding: 'async',
  })]);
}

function fileCard(upload) {
  const size = humanSize(upload.size);
  const type = typeLabel(upload);
  return el('div', { className: 'attachment-file' }, [
    el('span', { className: 'attachment-icon', 'aria-hidden': 'true' }, [el('span', { className: 'action-icon' })]),
    el('span', { className: 'attachment-info' }, [
      el('span', { className: 'attachment-name', text: upload.name, title: upload.name }),
      el('span', { className: 'attachment-meta', text: `${size} · ${type}` }),
    ]),
    el('a', {
      className: 'attachment-download button subtle small',
      href: upload.url,
      download: upload.name,
      'aria-label': `Download ${upload.name}`,
      text: 'Download',
    }),
  ]);
}

/** The attachments block of a message, or null when it has none. */
export function attachmentList(attachments) {
  const { images, files } = splitAttachments(attachments);
  if (!images.length && !files.length) return null;
  return el('div', { className: 'attachments' }, [
    images.length ? el('div', { className: 'attachment-images' }, images.map(thumbnail)) : null,
    ...files.map(fileCard),
  ]);
}

/** The inline images of a message, in the order its thumbnails show (for the viewer's next/previous). */
export function imagesOf(attachments) {
  return splitAttachments(attachments).images;
}
