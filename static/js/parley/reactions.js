/*
 * Reactions as plain data. A message's `reactions` is [{emoji, user_ids}],
 * in the order each emoji was first used (API.md, Part 2). Changes are
 * idempotent, so a change the client made optimistically and the `reaction`
 * event that confirms it can both be applied.
 */

/** The quick reactions offered until the emoji picker (emojipicker.js) plugs in. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '✅'];

/** Their names, for screen readers and tooltips (emoji-data.js will know every emoji's). */
export const QUICK_REACTION_NAMES = {
  '👍': 'thumbs up', '❤️': 'heart', '😂': 'tears of joy', '🎉': 'party popper',
  '😮': 'surprised', '😢': 'crying', '👀': 'eyes', '✅': 'check mark',
};

const MAX_NAMES = 6; // a tooltip names this many people, then "and N others"

/** Whether `userId` reacted to the message with `emoji`. */
export function hasReacted(reactions, emoji, userId) {
  const found = (reactions || []).find((r) => r.emoji === emoji);
  return Boolean(found && (found.user_ids || []).includes(userId));
}

/** Return `reactions` with `userId`'s `emoji` added or removed (the same array when nothing changes). */
export function changeReaction(reactions, { emoji, userId, action }) {
  const list = reactions || [];
  const index = list.findIndex((r) => r.emoji === emoji);
  const users = index === -1 ? [] : list[index].user_ids || [];
  if (action === 'added') {
    if (users.includes(userId)) return list;
    if (index === -1) return [...list, { emoji, user_ids: [userId] }];
    return list.map((r, i) => (i === index ? { ...r, user_ids: [...users, userId] } : r));
  }
  if (action === 'removed') {
    if (!users.includes(userId)) return list;
    const left = users.filter((id) => id !== userId);
    if (!left.length) return list.filter((_, i) => i !== index);
    return list.map((r, i) => (i === index ? { ...r, user_ids: left } : r));
  }
  return list;
}

/** The message with a reaction change applied (the same object when nothing changes). */
export function reactToMessage(msg, change) {
  const before = msg.reactions || [];
  const after = changeReaction(before, change);
  return after === before ? msg : { ...msg, reactions: after };
}

/** "Ana, Bob and 2 others"; `names` already in order. */
export function nameList(names) {
  if (names.length <= 1) return names[0] || '';
  if (names.length <= MAX_NAMES) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  const rest = names.length - MAX_NAMES + 1;
  return `${names.slice(0, MAX_NAMES - 1).join(', ')} and ${rest} others`;
}

/**
 * What the chips under a message show: [{emoji, count, mine, label}].
 * `nameOf(id)` gives a display name or null; I am "You", listed first.
 */
export function reactionChips(reactions, { meId, nameOf = () => null }) {
  return (reactions || [])
    .filter((r) => (r.user_ids || []).length > 0)
    .map((r) => {
      const ids = r.user_ids;
      const mine = ids.includes(meId);
      const others = ids.filter((id) => id !== meId).map((id) => nameOf(id) || 'someone');
      const names = mine ? ['You', ...others] : others;
      return { emoji: r.emoji, count: ids.length, mine, label: `${nameList(names)} reacted with ${r.emoji}` };
    });
}
