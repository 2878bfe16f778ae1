/*
 * Mention autocomplete in the composer, the pure part: find the `@query`
 * being typed at the caret, rank the room's members for it, and write the
 * chosen one as the server reads it (rooms/markdown.py): `@**Display Name**`,
 * or `@**Display Name|id**` when another member has the same name, since a
 * name two members share mentions nobody. `@**all**` is a choice too.
 * Plain data in, plain data out; the DOM code shows the list.
 */

export const LIMIT = 8;
// Long enough for "First Last", short enough that an old `@` far back is not reopened.
const MAX_QUERY = 40;
const OPENERS = new Set([' ', '\t', '\n', '\r', '\u00a0', '(', '[', '{', '"', "'", '/', '<', '>']);

export const ALL = Object.freeze({ id: null, display_name: 'all', all: true });

/** Fold case and accents, so that "jose" finds "José". */
export function fold(text) {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLocaleLowerCase();
}

/**
 * Return the mention being typed at `caret` as `{start, end, query}` (`start`
 * at the `@`, `end` the caret), or null. The `@` starts the text or follows
 * white space or an opening bracket or quote; the query stays on one line and
 * may hold single spaces ("Ada Lo").
 */
export function findMentionQuery(text, caret = text.length) {
  const lineStart = text.lastIndexOf('\n', caret - 1) + 1;
  const at = text.lastIndexOf('@', caret - 1);
  if (at < lineStart || caret - at - 1 > MAX_QUERY) return null;
  if (at > 0 && !OPENERS.has(text[at - 1])) return null;
  const query = text.slice(at + 1, caret);
  if (query.startsWith('*') || query.startsWith(' ') || query.includes('  ') || query.includes('@')) return null;
  return { start: at, end: caret, query };
}

function rank(name, query) {
  const folded = fold(name);
  if (!query) return 3;
  if (folded === query) return 0;
  if (folded.startsWith(query)) return 1;
  if (folded.split(/\s+/).some((word) => word.startsWith(query))) return 2;
  if (folded.includes(query)) return 3;
  return -1;
}

/**
 * Return up to `limit` members `{id, display_name}` matching `query`, best
 * first: the whole name, then its start, then a word's start, then anywhere;
 * alphabetical within each. `ALL` is offered when "all" starts with the query.
 */
export function filterMembers(members, query, { limit = LIMIT, includeAll = true, excludeId = null } = {}) {
  const wanted = fold(query.trim());
  const scored = [];
  for (const member of members) {
    if (member.id === excludeId) continue;
    const score = rank(member.display_name, wanted);
    if (score >= 0) scored.push({ member, score, key: fold(member.display_name) });
  }
  scored.sort((a, b) => a.score - b.score || a.key.localeCompare(b.key) || a.member.id - b.member.id);
  const found = scored.map((entry) => entry.member);
  if (includeAll && 'all'.startsWith(wanted)) {
    found.splice(wanted === 'all' ? 0 : found.length, 0, ALL);
  }
  return found.slice(0, limit);
}

/** Return the text the server reads as a mention of `member`, given the room's `members`. */
export function mentionMarkup(member, members = []) {
  if (member.all) return '@**all**';
  const name = member.display_name;
  const shared = members.some((other) => other.id !== member.id && fold(other.display_name) === fold(name));
  return shared ? `@**${name}|${member.id}**` : `@**${name}**`;
}

/**
 * Replace the query `found` (from findMentionQuery) in `text` with the mention
 * of `member` and a space; return `{text, caret}` with the caret after it.
 */
export function applyMention(text, found, member, members = []) {
  const markup = mentionMarkup(member, members);
  const after = text.slice(found.end);
  const space = after.startsWith(' ') ? '' : ' ';
  const before = text.slice(0, found.start) + markup + space;
  return { text: before + after, caret: before.length + (space ? 0 : 1) };
}
