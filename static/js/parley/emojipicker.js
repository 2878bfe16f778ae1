/*
 * The emoji picker and `:shortcode:` typing, the pure part: search the
 * catalogue (emoji-data.js, generated from rooms/emoji.py) by name and alias,
 * find the `:sho` being typed at the caret, and turn finished `:shortcode:`s
 * into their emoji. Plain data in, plain data out; the DOM code draws.
 */

export const LIMIT = 8;
// Two characters at least, as Zulip does, so that ":)" or "10:30" open nothing.
export const MIN_QUERY = 2;
const NAME = /^[a-z0-9_+-]*$/;
const OPENERS = new Set([' ', '\t', '\n', '\r', '\u00a0', '(', '[', '{', '"', "'"]);

/** Return a Map from every name and alias to its catalogue entry. */
export function shortcodeIndex(catalogue) {
  const index = new Map();
  for (const entry of catalogue) {
    for (const name of [entry.name, ...(entry.aliases || [])]) {
      if (!index.has(name)) index.set(name, entry);
    }
  }
  return index;
}

function rank(entry, query) {
  let best = -1;
  for (const name of [entry.name, ...(entry.aliases || [])]) {
    let score = -1;
    if (name === query) score = 0;
    else if (name.startsWith(query)) score = 1;
    else if (name.split(/[_-]/).some((word) => word.startsWith(query))) score = 2;
    else if (name.includes(query)) score = 3;
    if (score >= 0 && (best < 0 || score < best)) best = score;
  }
  return best;
}

/**
 * Return the entries whose name or an alias matches `query`, best first: the
 * whole name, its start, a word's start (after `_` or `-`), then anywhere;
 * catalogue order within each. An empty query gives the catalogue as it is.
 */
export function searchEmoji(catalogue, query, { limit = Infinity } = {}) {
  const wanted = query.trim().toLowerCase().replace(/^:|:$/g, '').replace(/\s+/g, '_');
  if (!wanted) return catalogue.slice(0, limit);
  const scored = [];
  catalogue.forEach((entry, order) => {
    const score = rank(entry, wanted);
    if (score >= 0) scored.push({ entry, score, order });
  });
  scored.sort((a, b) => a.score - b.score || a.order - b.order);
  return scored.slice(0, limit).map((item) => item.entry);
}

/**
 * Return the `:shortcode` being typed at `caret` as `{start, end, query}`
 * (`start` at the colon), or null: the colon starts the text or follows white
 * space or an opening bracket, and at least MIN_QUERY name characters follow.
 */
export function findShortcodeQuery(text, caret = text.length) {
  const colon = text.lastIndexOf(':', caret - 1);
  if (colon < 0) return null;
  if (colon > 0 && !OPENERS.has(text[colon - 1])) return null;
  const query = text.slice(colon + 1, caret).toLowerCase();
  if (query.length < MIN_QUERY || query.length > 40 || !NAME.test(query)) return null;
  return { start: colon, end: caret, query };
}

/** Replace the query `found` in `text` with `entry`'s emoji; return `{text, caret}` with the caret after it. */
export function applyEmoji(text, found, entry) {
  const before = text.slice(0, found.start) + entry.emoji;
  return { text: before + text.slice(found.end), caret: before.length };
}

// The closing colon is looked at, not taken, so that in "10:30:tada:" the colon
// that ends a non-name can still open the next one.
const CODE_OR_SHORTCODE = /(`+)[\s\S]*?\1|:([a-z0-9_+-]+)(?=:)/gi;

/**
 * Replace every known `:shortcode:` in `text` with its emoji, except inside
 * code spans and fences; keep the caret where it was relative to the text
 * around it. Return `{text, caret}`.
 */
export function replaceShortcodes(text, index, caret = text.length) {
  let out = '';
  let last = 0;
  let newCaret = caret;
  for (const match of text.matchAll(CODE_OR_SHORTCODE)) {
    const start = match.index;
    if (match[1] || start < last) continue; // code is left as typed
    const entry = index.get(match[2].toLowerCase());
    const end = start + match[0].length + 1;
    const glued = (start > 0 && /[\p{L}\p{N}]/u.test(text[start - 1])) || /[\p{L}\p{N}]/u.test(text[end] || '');
    if (!entry || glued) continue;
    out += text.slice(last, start) + entry.emoji;
    last = end;
    if (caret >= end) newCaret -= end - start - entry.emoji.length;
    else if (caret > start) newCaret = out.length;
  }
  return { text: out + text.slice(last), caret: newCaret };
}
