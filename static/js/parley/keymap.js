/*
 * Which page-wide keyboard shortcut a key press is, and the list the "?"
 * sheet shows. Pure: the key event and the page's situation come in as plain
 * data, so node --test can check every rule.
 *
 * Ctrl+K is Cmd+K on a Mac, where Ctrl+K in a text field deletes to the end
 * of the line and must keep doing so. "?" only counts outside text fields (it
 * is a character people type); the room and switcher keys work from the
 * composer too, as in Slack, but not while a dialog is open.
 */

const TEXT_INPUT_TYPES = new Set(['', 'text', 'search', 'email', 'url', 'tel', 'password', 'number', 'date',
  'datetime-local', 'month', 'time', 'week']);

/** Whether keys pressed in `target` ({tagName, type, isContentEditable}) are typing. */
export function isTypingTarget(target) {
  if (!target) return false;
  if (target.isContentEditable) return true;
  const tag = String(target.tagName || '').toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  return tag === 'INPUT' && TEXT_INPUT_TYPES.has(String(target.type || '').toLowerCase());
}

/** Whether this browser runs on a Mac (or iPad/iPhone): ⌘ instead of Ctrl. */
export function isMacLike(platform) {
  return /mac|iphone|ipad|ipod/i.test(String(platform || ''));
}

/**
 * The shortcut `event` ({key, ctrlKey, metaKey, altKey, shiftKey}) asks
 * for: 'switcher', 'previous-room', 'next-room', 'help', or null.
 * `typing`: the key went to a text field; `dialogOpen`: a modal is up.
 */
export function shortcutOf(event, { mac = false, typing = false, dialogOpen = false } = {}) {
  const { key, ctrlKey, metaKey, altKey, shiftKey } = event;
  const command = mac ? metaKey && !ctrlKey : ctrlKey && !metaKey;
  if (command && !altKey && !shiftKey && (key === 'k' || key === 'K')) return dialogOpen ? null : 'switcher';
  if (dialogOpen) return null;
  if (altKey && !ctrlKey && !metaKey && !shiftKey) {
    if (key === 'ArrowUp') return 'previous-room';
    if (key === 'ArrowDown') return 'next-room';
  }
  if (key === '?' && !ctrlKey && !metaKey && !altKey && !typing) return 'help';
  return null;
}

/**
 * The slug `delta` places from `current` in `slugs` (the sidebar's order),
 * or null past either end (no wrapping: the last room stays last). From a
 * room not in the list, down goes to the first and up to the last.
 */
export function adjacentSlug(slugs, current, delta) {
  if (!slugs.length) return null;
  const index = slugs.indexOf(current);
  if (index < 0) return delta > 0 ? slugs[0] : slugs[slugs.length - 1];
  const next = index + delta;
  return next >= 0 && next < slugs.length ? slugs[next] : null;
}

/** The "?" sheet: groups of `{keys: [[key, ...] alternatives], what}`. */
export function shortcutList({ mac = false } = {}) {
  const command = mac ? '⌘' : 'Ctrl';
  const alt = mac ? '⌥' : 'Alt';
  return [
    {
      title: 'Anywhere',
      items: [
        { keys: [[command, 'K']], what: 'Switch to a room or conversation' },
        { keys: [[alt, '↑'], [alt, '↓']], what: 'Previous or next room in the list' },
        { keys: [['Esc']], what: 'Close what is open: a dialog, search results, the emoji picker, a reply' },
        { keys: [['?']], what: 'Show these shortcuts (outside a text field)' },
      ],
    },
    {
      title: 'Writing',
      items: [
        { keys: [['Enter']], what: 'Send' },
        { keys: [['Shift', 'Enter']], what: 'New line' },
        { keys: [['↑']], what: 'Edit your last message (in an empty composer)' },
        { keys: [['Esc']], what: 'Cancel the reply or the edit' },
      ],
    },
    {
      title: 'On a message (Tab into the list, then ↑ ↓)',
      items: [
        { keys: [['r']], what: 'Reply' },
        { keys: [['e']], what: 'Edit your message' },
        { keys: [['+']], what: 'React' },
        { keys: [['Home'], ['End']], what: 'Oldest or newest loaded message' },
      ],
    },
  ];
}
