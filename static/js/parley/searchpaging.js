/*
 * Search results as plain data: whether there is another page, where it
 * starts, and the filter hints. The server says `has_more` and gives the
 * `next` page's position (sent back as `page`); an answer without `has_more`
 * is taken to have more when it filled a whole page.
 */

export const SEARCH_PAGE = 50;

/** The filters GET /api/search understands inside `q`, as the pane's hints show them. */
export const SEARCH_FILTERS = [
  { token: 'from:', example: 'from:alice', what: 'messages by someone' },
  { token: 'in:', example: 'in:general', what: 'messages in a room' },
  { token: 'before:', example: 'before:2026-01-31', what: 'sent before a day (YYYY-MM-DD)' },
  { token: 'after:', example: 'after:2026-01-01', what: 'sent after a day (YYYY-MM-DD)' },
  { token: 'has:file', example: 'has:file', what: 'messages with a file' },
  { token: 'has:link', example: 'has:link', what: 'messages with a link' },
];

/** Whether another page follows an answer of `received` messages. */
export function hasMorePages(data, received, pageSize = SEARCH_PAGE) {
  if (data && typeof data.has_more === 'boolean') return data.has_more;
  return received >= pageSize;
}

/** Merge a further page into the results shown, dropping ids already there (rows may shift between pages). */
export function mergePage(shown, page) {
  const seen = new Set(shown.map((msg) => msg.id));
  return [...shown, ...page.filter((msg) => !seen.has(msg.id))];
}

/** `q` with a filter `token` added at the end, separated by one space ("has:file" whole, "from:" to complete). */
export function addFilter(q, token) {
  const text = String(q || '').replace(/\s+$/, '');
  return text ? `${text} ${token}` : token;
}

/** The name to show for a result's room: the page's own title, the answer's room_name, or the slug. */
export function resultRoomName(msg, titleOfSlug) {
  return (titleOfSlug && titleOfSlug(msg.room)) || msg.room_name || msg.room || '';
}
