/*
 * Fuzzy matching for the room switcher (Ctrl/Cmd+K): does "gnrl" name
 * "General", and how well? Pure: strings in, numbers and positions out.
 *
 * The query's letters must appear in the text in order (case and accents
 * ignored, spaces in the query skipped). Among all the ways they can, the
 * best-scoring one is found by dynamic programming rather than greedily, so
 * "gen" in "Engineering general" matches the word "general", not the "g" of
 * "Engineering": letters at the start of the text or of a word, and letters
 * that follow each other, score more; every skipped letter between two
 * matched ones costs a little.
 */

const START_BONUS = 10; // the text's first letter
const WORD_BONUS = 8; // after a space, "-", "_", ".", "/", "#", "@" or a lower-to-upper case change
const RUN_BONUS = 6; // the previous query letter matched the previous text letter
const MATCH = 1;
const GAP = 1; // per skipped letter between two matched ones
const EXACT_BONUS = 20; // the whole text, folded, is the query

const SEPARATORS = new Set([' ', '-', '_', '.', '/', '#', '@', '(', ')', ':', ',']);

/** One folded letter per code point of `text` (lower case, accents stripped), so positions stay the text's. */
export function foldLetters(text) {
  return Array.from(String(text || ''), (ch) => {
    const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    return (base || ch).toLowerCase();
  });
}

function bonusAt(chars, original, j) {
  if (j === 0) return START_BONUS;
  if (SEPARATORS.has(chars[j - 1])) return WORD_BONUS;
  const before = original[j - 1];
  const here = original[j];
  if (before && here && before === before.toLowerCase() && before !== before.toUpperCase()
    && here !== here.toLowerCase()) return WORD_BONUS; // camelCase
  return 0;
}

/**
 * Match `query` against `text`: null when it does not match, else
 * `{score, positions}` where positions are the code point indexes of `text`
 * that matched (for highlighting). An empty query matches everything with 0.
 */
export function fuzzyMatch(query, text) {
  const q = foldLetters(query).filter((ch) => !/\s/.test(ch));
  const original = Array.from(String(text || ''));
  const t = foldLetters(text);
  if (!q.length) return { score: 0, positions: [] };
  const n = q.length;
  const m = t.length;
  if (n > m) return null;

  // score[i][j]: the best score of q[0..i] with q[i] on t[j]; from[i][j]: where q[i-1] sat then.
  const score = Array.from({ length: n }, () => new Array(m).fill(-Infinity));
  const from = Array.from({ length: n }, () => new Array(m).fill(-1));
  for (let j = 0; j < m; j += 1) {
    if (t[j] === q[0]) score[0][j] = MATCH + bonusAt(t, original, j);
  }
  for (let i = 1; i < n; i += 1) {
    let best = -Infinity; // the best score[i-1][k] - GAP * (j - k - 1) over k < j - 1
    let bestAt = -1;
    for (let j = 1; j < m; j += 1) {
      if (j >= 2) {
        best -= GAP;
        const skipOne = score[i - 1][j - 2] - GAP;
        if (skipOne > best) {
          best = skipOne;
          bestAt = j - 2;
        }
      }
      if (t[j] !== q[i]) continue;
      const here = MATCH + bonusAt(t, original, j);
      const run = score[i - 1][j - 1] + RUN_BONUS;
      if (run >= best && run > -Infinity) {
        score[i][j] = here + run;
        from[i][j] = j - 1;
      } else if (best > -Infinity) {
        score[i][j] = here + best;
        from[i][j] = bestAt;
      }
    }
  }
  let end = -1;
  for (let j = 0; j < m; j += 1) {
    if (score[n - 1][j] > -Infinity && (end < 0 || score[n - 1][j] > score[n - 1][end])) end = j;
  }
  if (end < 0) return null;

  const positions = new Array(n);
  for (let i = n - 1, j = end; i >= 0; i -= 1) {
    positions[i] = j;
    j = from[i][j];
  }
  let total = score[n - 1][end];
  if (q.join('') === t.filter((ch) => !/\s/.test(ch)).join('')) total += EXACT_BONUS;
  return { score: total, positions };
}

/**
 * Rank `items` by how well `query` matches `textOf(item)`: the matching
 * ones only, best first; equal scores keep the shorter text first, then the
 * given order. Each result is `{item, score, positions}`.
 */
export function fuzzyRank(query, items, textOf) {
  const ranked = [];
  [...items].forEach((item, index) => {
    const text = textOf(item);
    const match = fuzzyMatch(query, text);
    if (match) ranked.push({ item, index, length: Array.from(text).length, ...match });
  });
  ranked.sort((a, b) => b.score - a.score || a.length - b.length || a.index - b.index);
  return ranked.map(({ item, score, positions }) => ({ item, score, positions }));
}

/** Cut `text` into `[{text, match}]` pieces by the matched code point `positions`, for <mark>ing. */
export function splitByPositions(text, positions) {
  const chars = Array.from(String(text || ''));
  const marked = new Set(positions);
  const pieces = [];
  chars.forEach((ch, index) => {
    const match = marked.has(index);
    const last = pieces[pieces.length - 1];
    if (last && last.match === match) last.text += ch;
    else pieces.push({ text: ch, match });
  });
  return pieces;
}
