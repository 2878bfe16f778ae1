/*
 * What the composer offers at the caret, the pure part: an `@` mention
 * (mentions.js) or a `:shortcode` (emojipicker.js), whichever was opened
 * last, and how the popup's keys move through it. Plain data in, plain data
 * out; autocomplete.js draws the popup.
 */

import { applyMention, filterMembers, findMentionQuery } from './mentions.js';
import { applyEmoji, findShortcodeQuery, LIMIT as EMOJI_LIMIT, searchEmoji } from './emojipicker.js';

function queriesAt(text, caret) {
  const found = [];
  const mention = findMentionQuery(text, caret);
  if (mention) found.push({ kind: 'mention', found: mention });
  const shortcode = findShortcodeQuery(text, caret);
  if (shortcode) found.push({ kind: 'emoji', found: shortcode });
  // "@ana :sm": the query opened last is the one being typed.
  return found.sort((a, b) => b.found.start - a.found.start);
}

/**
 * Return what to offer at `caret` as `{kind, found, items}` ("mention":
 * members and ALL; "emoji": catalogue entries), or null. `meId` is left out
 * of the members; a query starting at `dismissed` (closed with Esc) is not
 * offered again.
 */
export function completionAt(text, caret, { members = [], meId = null, catalogue = [], dismissed = null } = {}) {
  for (const { kind, found } of queriesAt(text, caret)) {
    if (found.start === dismissed) continue;
    const items = kind === 'mention'
      ? filterMembers(members, found.query, { excludeId: meId })
      : searchEmoji(catalogue, found.query, { limit: EMOJI_LIMIT });
    if (items.length) return { kind, found, items };
  }
  return null;
}

/** Whether the query the user closed with Esc (starting at `dismissed`) is still being typed. */
export function stillDismissed(text, caret, dismissed) {
  return dismissed !== null && queriesAt(text, caret).some(({ found }) => found.start === dismissed);
}

/** Write `item` (a member or an emoji entry) in place of the completion's query: `{text, caret}`. */
export function applyCompletion(text, completion, item, members = []) {
  return completion.kind === 'mention'
    ? applyMention(text, completion.found, item, members)
    : applyEmoji(text, completion.found, item);
}

/** The active option after moving by `delta` among `count`, wrapping round. */
export function moveActive(active, delta, count) {
  if (count <= 0) return -1;
  return (((active + delta) % count) + count) % count;
}

/**
 * What a key does while the popup is open: "next", "previous", "choose",
 * "close", or null (the key belongs to the text). Shift+Enter stays a new
 * line; an input method's keys are never taken.
 */
export function keyAction({ key, shiftKey = false, altKey = false, ctrlKey = false, metaKey = false, isComposing = false }) {
  if (isComposing) return null;
  const modified = altKey || ctrlKey || metaKey;
  if (key === 'ArrowDown' && !modified) return 'next';
  if (key === 'ArrowUp' && !modified) return 'previous';
  if (key === 'n' && ctrlKey && !altKey && !metaKey) return 'next'; // as in Emacs and macOS text fields
  if (key === 'p' && ctrlKey && !altKey && !metaKey) return 'previous';
  if ((key === 'Enter' || key === 'Tab') && !shiftKey && !modified) return 'choose';
  if (key === 'Escape') return 'close';
  return null;
}

/**
 * Whether `caret` is inside code still being typed: a run of backticks
 * before it that nothing has closed yet ("`:smile:" on its way to
 * "`:smile:`"), so that its `:shortcode:`s are not turned into emoji.
 */
export function inOpenCode(text, caret = text.length) {
  return text.slice(0, caret).replace(/(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '').includes('`');
}
