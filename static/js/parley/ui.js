/*
 * Small DOM and formatting helpers shared by Parley's pages.
 *
 * Every piece of user text goes into the page as a text node: el() sets
 * textContent, highlight() and linkify() build <mark>/<a> elements around
 * text nodes, and nothing here ever assigns innerHTML.
 */

/**
 * Build an element. `props`: className, text, dataset, hidden, or any
 * attribute (null/undefined/false are skipped). Children may be nodes or
 * strings (strings become text nodes).
 */
export function el(tag, props, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'hidden') node.hidden = true;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of [].concat(children === undefined ? [] : children)) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// ---- Times (always shown in the browser's local time zone) -------------

const pad2 = (n) => String(n).padStart(2, '0');

/** "14:05" */
export function clock(date) {
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}

/** A key that is equal for two times on the same local day. */
export function dayKey(date) {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
}

function daysAgo(date, now) {
  const start = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((start(now) - start(date)) / 86400000);
}

/** "Today", "Yesterday", or "Monday 3 March" (with the year if it is not this one). */
export function dayLabel(date, now = new Date()) {
  const ago = daysAgo(date, now);
  if (ago === 0) return 'Today';
  if (ago === 1) return 'Yesterday';
  const options = { weekday: 'long', day: 'numeric', month: 'long' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return date.toLocaleDateString(undefined, options);
}

/** "14:05" today, "Yesterday 14:05", "3 Mar 14:05" otherwise. */
export function shortDateTime(date, now = new Date()) {
  const ago = daysAgo(date, now);
  if (ago === 0) return clock(date);
  if (ago === 1) return `Yesterday ${clock(date)}`;
  const options = { day: 'numeric', month: 'short' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return `${date.toLocaleDateString(undefined, options)} ${clock(date)}`;
}

/** "last seen 5 min ago" and friends, for people who are offline. */
export function lastSeen(iso, now = new Date()) {
  const when = iso ? new Date(iso) : null;
  if (!when || Number.isNaN(when.getTime())) return 'offline';
  const minutes = Math.floor((now - when) / 60000);
  if (minutes < 1) return 'last seen just now';
  if (minutes < 60) return `last seen ${minutes} min ago`;
  const ago = daysAgo(when, now);
  if (ago === 0) return `last seen today at ${clock(when)}`;
  if (ago === 1) return `last seen yesterday at ${clock(when)}`;
  const options = { day: 'numeric', month: 'short' };
  if (when.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return `last seen ${when.toLocaleDateString(undefined, options)}`;
}

// ---- Text ---------------------------------------------------------------

/** Cut to `max` characters (code points, like the server counts), adding "…". */
export function truncate(text, max) {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The words of a search query, without quotes or stray punctuation. */
export function searchTerms(query) {
  return query
    .split(/\s+/)
    .map((word) => word.replace(/^[\s"'“”‘’(]+|[\s"'“”‘’).,;:!?]+$/g, ''))
    .filter((word) => word.length > 0);
}

function termsPattern(terms) {
  const unique = [...new Set(terms.map((t) => t.toLowerCase()))].sort((a, b) => b.length - a.length);
  return unique.length ? new RegExp(`(${unique.map(escapeRegExp).join('|')})`, 'gi') : null;
}

/** A fragment of `text` with every match of `terms` wrapped in <mark>. */
export function highlight(text, terms) {
  const fragment = document.createDocumentFragment();
  const pattern = termsPattern(terms);
  if (!pattern) {
    fragment.append(text);
    return fragment;
  }
  // With one capturing group, split() puts the matches at the odd indexes.
  text.split(pattern).forEach((part, index) => {
    if (!part) return;
    fragment.append(index % 2 === 1 ? el('mark', { text: part }) : part);
  });
  return fragment;
}

/** The part of a long `text` around its first match, at most `max` characters. */
export function snippet(text, terms, max = 180) {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  if (chars.length <= max) return flat;
  const pattern = termsPattern(terms);
  const match = pattern ? pattern.exec(flat) : null;
  const at = match ? Array.from(flat.slice(0, match.index)).length : 0;
  const start = Math.max(0, Math.min(at - Math.floor(max / 3), chars.length - max));
  const cut = chars.slice(start, start + max).join('');
  return (start > 0 ? '…' : '') + cut + (start + max < chars.length ? '…' : '');
}

const URL_PATTERN = /(https?:\/\/[^\s<>"']+)/gi;

/** A fragment of `text` with http(s) links made clickable; everything else stays text. */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  text.split(URL_PATTERN).forEach((part, index) => {
    if (!part) return;
    if (index % 2 === 0) {
      fragment.append(part);
      return;
    }
    // Leave trailing punctuation out of the link: "see https://x.org/."
    const trail = part.match(/[.,;:!?)\]]+$/);
    const href = trail ? part.slice(0, -trail[0].length) : part;
    let url = null;
    try {
      url = new URL(href);
    } catch (err) {
      url = null;
    }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      fragment.append(el('a', { href: url.href, text: href, target: '_blank', rel: 'noopener noreferrer nofollow' }));
      if (trail) fragment.append(trail[0]);
    } else {
      fragment.append(part);
    }
  });
  return fragment;
}

// ---- Little widgets ----------------------------------------------------

function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => Array.from(w)[0] || '').join('').toUpperCase() || '?';
}

/** A round avatar with initials; its colour comes from the user id (a class, not a style). */
export function avatar(name, userId) {
  const tone = Math.abs(Number(userId) || 0) % 8;
  return el('span', { className: `avatar tone-${tone}`, text: initials(name), 'aria-hidden': 'true' });
}

/** The "BOT" tag shown after a bot's name (users carry is_bot), or null for a person. */
export function botTag(user) {
  return user && user.is_bot ? el('span', { className: 'badge bot-tag', text: 'BOT', title: 'A bot' }) : null;
}

/** The presence dot: span.presence.online or span.presence.offline. */
export function presenceDot(status) {
  const online = status === 'online';
  return el('span', {
    className: `presence ${online ? 'online' : 'offline'}`,
    title: online ? 'Online' : 'Offline',
    role: 'img',
    'aria-label': online ? 'Online' : 'Offline',
  });
}

/** Call `fn` once things have been quiet for `ms`. */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/**
 * Scroll `scroller` just enough to show `child`. Unlike scrollIntoView, no
 * other ancestor moves (a popup's list must not scroll the page behind it).
 */
export function scrollWithin(scroller, child) {
  const box = scroller.getBoundingClientRect();
  const item = child.getBoundingClientRect();
  if (item.top < box.top) scroller.scrollTop -= box.top - item.top;
  else if (item.bottom > box.bottom) scroller.scrollTop += item.bottom - box.bottom;
}
