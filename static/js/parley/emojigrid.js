/*
 * The emoji picker's grid, the pure part: which sections it shows (the quick
 * reactions and every category, or the search results) and how the arrow
 * keys move through rows that each section starts afresh. emojipopover.js
 * draws it with the same COLUMNS.
 */

import { searchEmoji } from './emojipicker.js';

export const COLUMNS = 8;

/**
 * Return the sections to show, `[{id, label, entries}]`: for an empty `query`
 * the `quick` emoji (those the catalogue knows) then each category in
 * order; otherwise one section of search results (maybe empty).
 */
export function pickerSections(catalogue, categories, { query = '', quick = [] } = {}) {
  if (query.trim()) {
    return [{ id: 'results', label: 'Search results', entries: searchEmoji(catalogue, query) }];
  }
  const byEmoji = new Map(catalogue.map((entry) => [entry.emoji, entry]));
  const sections = [];
  const quickEntries = quick.map((emoji) => byEmoji.get(emoji)).filter(Boolean);
  if (quickEntries.length) sections.push({ id: 'quick', label: 'Quick reactions', entries: quickEntries });
  for (const category of categories) {
    const entries = catalogue.filter((entry) => entry.category === category.id);
    if (entries.length) sections.push({ id: category.id, label: category.label, entries });
  }
  return sections;
}

/** The grid's rows `[{start, length}]` (indexes into all entries in order) for sections of `sizes`. */
export function gridRows(sizes, columns = COLUMNS) {
  const rows = [];
  let start = 0;
  for (const size of sizes) {
    for (let offset = 0; offset < size; offset += columns) {
      rows.push({ start: start + offset, length: Math.min(columns, size - offset) });
    }
    start += size;
  }
  return rows;
}

function rowOf(index, rows) {
  return rows.findIndex((row) => index >= row.start && index < row.start + row.length);
}

/**
 * Return the index `key` moves to from `index`: Left and Right step through
 * all entries, Up and Down keep the column (or the last one of a shorter
 * row), PageUp and PageDown jump `page` rows, Home and End go to the ends.
 * The same index when the key goes nowhere; -1 for an empty grid.
 */
export function gridMove(index, key, rows, { page = 4 } = {}) {
  const last = rows.length ? rows[rows.length - 1].start + rows[rows.length - 1].length - 1 : -1;
  if (last < 0) return -1;
  const from = Math.min(Math.max(index, 0), last);
  const rowJump = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page }[key];
  if (rowJump) {
    const row = rowOf(from, rows);
    const target = rows[Math.min(Math.max(row + rowJump, 0), rows.length - 1)];
    const column = from - rows[row].start;
    return target.start + Math.min(column, target.length - 1);
  }
  if (key === 'ArrowRight') return Math.min(from + 1, last);
  if (key === 'ArrowLeft') return Math.max(from - 1, 0);
  if (key === 'Home') return 0;
  if (key === 'End') return last;
  return from;
}

/** The entry's name as words, for screen readers: "heart eyes"; "+1" is read by its alias, "thumbsup". */
export function spokenName(entry) {
  const worded = /[a-z]/i.test(entry.name) ? entry.name : (entry.aliases || []).find((alias) => /[a-z]/i.test(alias));
  return (worded || entry.name).replace(/_/g, ' ');
}
