/*
 * The image viewer: a modal overlay showing one attachment full size, with
 * the previous and next images of the same message. Esc, the × button or a
 * click outside the image closes it; Tab stays inside while it is open; the
 * focus goes back to the thumbnail that opened it.
 */

import { humanSize } from './files.js';
import { el } from './ui.js';

let open = null; // {overlay, opener, images, index, onKeydown}

function focusables(root) {
  return [...root.querySelectorAll('button:not([disabled]), a[href]')].filter((node) => !node.hidden);
}

function show(index) {
  const { overlay, images } = open;
  open.index = (index + images.length) % images.length;
  const upload = images[open.index];
  const img = overlay.querySelector('.viewer-image');
  img.src = upload.url;
  img.alt = upload.name;
  if (upload.width && upload.height) {
    img.width = upload.width;
    img.height = upload.height;
  } else {
    img.removeAttribute('width');
    img.removeAttribute('height');
  }
  overlay.querySelector('.viewer-name').textContent = upload.name;
  overlay.querySelector('.viewer-meta').textContent = images.length > 1
    ? `${humanSize(upload.size)} · ${open.index + 1} of ${images.length}` : humanSize(upload.size);
  const download = overlay.querySelector('.viewer-download');
  download.href = upload.url;
  download.setAttribute('download', upload.name);
  overlay.setAttribute('aria-label', upload.name);
}

export function closeViewer() {
  if (!open) return;
  const { overlay, opener, onKeydown } = open;
  open = null;
  document.removeEventListener('keydown', onKeydown, true);
  overlay.remove();
  document.body.classList.remove('viewer-open');
  if (opener && opener.isConnected) opener.focus({ preventScroll: true });
}

export const viewerIsOpen = () => Boolean(open);

/** Open `images` (uploads) at `index`; `opener` gets the focus back on close. */
export function openViewer(images, index, opener = null) {
  closeViewer();
  if (!images.length) return;
  const many = images.length > 1;
  const button = (className, label, text) => el('button', {
    type: 'button', className: `viewer-button ${className}`, 'aria-label': label, title: label,
  }, [el('span', { 'aria-hidden': 'true', text })]);
  const close = button('viewer-close', 'Close (Esc)', '×');
  const prev = many ? button('viewer-prev', 'Previous image', '‹') : null;
  const next = many ? button('viewer-next', 'Next image', '›') : null;
  const overlay = el('div', { className: 'viewer', role: 'dialog', 'aria-modal': 'true' }, [
    el('figure', { className: 'viewer-figure' }, [
      el('img', { className: 'viewer-image', alt: '' }),
      el('figcaption', { className: 'viewer-caption' }, [
        el('span', { className: 'viewer-name' }),
        el('span', { className: 'viewer-meta' }),
        el('a', { className: 'viewer-download', text: 'Download' }),
      ]),
    ]),
    prev, next, close,
  ]);

  const onKeydown = (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeViewer();
    } else if (many && event.key === 'ArrowLeft') {
      event.preventDefault();
      show(open.index - 1);
    } else if (many && event.key === 'ArrowRight') {
      event.preventDefault();
      show(open.index + 1);
    } else if (event.key === 'Tab') {
      // Keep the focus in the dialog.
      const items = focusables(overlay);
      const at = items.indexOf(document.activeElement);
      const to = event.shiftKey ? (at <= 0 ? items.length - 1 : at - 1) : (at === items.length - 1 ? 0 : at + 1);
      event.preventDefault();
      items[to].focus();
    }
  };
  overlay.addEventListener('click', (event) => {
    if (event.target === overlay || event.target.classList.contains('viewer-figure')) closeViewer();
  });
  close.addEventListener('click', closeViewer);
  if (prev) prev.addEventListener('click', () => show(open.index - 1));
  if (next) next.addEventListener('click', () => show(open.index + 1));

  open = { overlay, opener, images, index, onKeydown };
  document.addEventListener('keydown', onKeydown, true);
  document.body.append(overlay);
  document.body.classList.add('viewer-open');
  show(index);
  close.focus();
}
