/*
 * What counts as an empty message, as the server counts it (rooms/messaging.py
 * is_blank): white space, Python's included (\x1c-\x1f, \x85), and the
 * invisible zero-width space, joiners, word joiner and byte-order mark. Send
 * stays disabled for such text, which the server would refuse.
 */

const BLANK = /^[\s\u001c-\u001f\u0085\u200b-\u200d\u2060\ufeff]*$/;

export function isBlank(text) {
  return BLANK.test(String(text ?? ''));
}
