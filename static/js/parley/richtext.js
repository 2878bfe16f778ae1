/*
 * A message's text as DOM. The server renders Markdown once and sends `html`,
 * sanitised to an allow-list (API.md, Part 2); that field, and only that one,
 * is parsed as HTML. It is parsed in an inert <template> (nothing loads or
 * runs there) and walked against the same allow-list before it reaches the
 * page, so a server bug cannot become script execution. Chromium checks the
 * CSP of on* attributes as it parses, even there: should the server ever let
 * one through, the page reports a CSP violation (the handler never runs and
 * is removed here), which points at the server's sanitiser.
 *
 * Without `html` (a Part 1 server, or a message still being sent) the
 * `body` goes in as text.
 */

import { linkify } from './ui.js';

// Tag -> the attributes it may keep (API.md: p br strong em del code pre blockquote ul ol li a, span.mention).
const ALLOWED = {
  P: [], BR: [], STRONG: [], EM: [], DEL: [], CODE: [], PRE: [], BLOCKQUOTE: [], UL: [], OL: ['start'], LI: [],
  A: ['href', 'title'], SPAN: ['class', 'data-user-id'],
};
const DROPPED = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'MATH', 'NOSCRIPT', 'TITLE', 'TEXTAREA']);
const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

function safeHref(value) {
  try {
    const url = new URL(value, window.location.href);
    return LINK_PROTOCOLS.has(url.protocol) ? value : null;
  } catch (err) {
    return null;
  }
}

function cleanElement(node) {
  const keep = ALLOWED[node.tagName];
  for (const attr of [...node.attributes]) {
    if (!keep.includes(attr.name)) node.removeAttribute(attr.name);
  }
  if (node.tagName === 'A') {
    const href = node.getAttribute('href');
    if (href !== null && !safeHref(href)) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'nofollow noopener noreferrer');
  }
  if (node.tagName === 'SPAN') node.className = node.classList.contains('mention') ? 'mention' : '';
}

// Where the server's HTML holds only blocks, so a text node of white space is the
// renderer's line break between tags ("<p>a</p>\n"): dropped, or it would end up
// in the message's text (textContent, copying, reply excerpts).
const BLOCKS_ONLY = new Set(['BLOCKQUOTE', 'UL', 'OL']);

/** Walk `parent`'s children: keep allowed elements, unwrap unknown ones, drop dangerous ones and comments. */
function clean(parent) {
  const blocksOnly = parent.nodeType === Node.DOCUMENT_FRAGMENT_NODE || BLOCKS_ONLY.has(parent.tagName);
  for (const node of [...parent.childNodes]) {
    if (node.nodeType === Node.TEXT_NODE) {
      if (blocksOnly && !node.data.trim()) node.remove();
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) {
      node.remove();
      continue;
    }
    const tag = node.tagName.toUpperCase();
    if (DROPPED.has(tag)) {
      node.remove();
      continue;
    }
    clean(node);
    if (ALLOWED[node.tagName]) cleanElement(node);
    else node.replaceWith(...node.childNodes);
  }
}

/** The server's sanitised HTML as a fragment, re-checked against the allow-list. */
export function htmlFragment(html) {
  const template = document.createElement('template');
  template.innerHTML = html;
  clean(template.content);
  return template.content;
}

/** Whether a message carries server-rendered HTML. */
export function isRich(msg) {
  return typeof msg.html === 'string' && msg.html.length > 0;
}

/** The message's text without markup: what its rendered HTML reads as, else its body. */
export function plainText(msg) {
  if (!isRich(msg)) return msg.body || '';
  const fragment = htmlFragment(msg.html);
  // Paragraphs, items, code blocks and line breaks on lines of their own, as the server's plain text has them.
  for (const block of fragment.querySelectorAll('p, li, pre, br')) block.after('\n');
  const lines = fragment.textContent.split('\n').map((line) => line.trimEnd()).filter((line) => line.trim());
  return lines.join('\n') || msg.body || '';
}

/**
 * The message's text for its .body: the rendered HTML with the mentions of
 * me marked (span.mention.me), or the plain body with its links made
 * clickable.
 */
export function messageText(msg, meId) {
  if (!isRich(msg)) return linkify(msg.body || '');
  const fragment = htmlFragment(msg.html);
  for (const span of fragment.querySelectorAll('span.mention')) {
    const target = span.dataset.userId; // none: @**all**, which is everyone, me included
    if (target === undefined || target === String(meId)) span.classList.add('me');
  }
  return fragment;
}
