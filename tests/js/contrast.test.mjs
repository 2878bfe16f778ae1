// WCAG AA contrast of the theme's colour variables (static/css/parley.css), in both themes.
//
// The stylesheet declares every colour once per theme as a custom property (the
// "Theme colours" blocks); this reads those blocks and checks each
// text-on-background pair the rules use: 4.5:1 for text, 3:1 for large text and
// for what is not text (focus rings, status dots). It also checks that the
// "system on a dark system" block repeats the dark one, and that no rule outside
// the blocks writes a colour of its own, so a new colour cannot skip the dark theme.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const CSS = readFileSync(new URL('../../static/css/parley.css', import.meta.url), 'utf8');

/** The text of the `{ ... }` block that opens right after `prefix` (nested braces allowed). */
function blockAfter(source, prefix) {
  const at = source.indexOf(prefix);
  assert.notEqual(at, -1, `no ${prefix} in parley.css`);
  const open = source.indexOf('{', at + prefix.length - 1);
  let depth = 0;
  for (let i = open; i < source.length; i += 1) {
    if (source[i] === '{') depth += 1;
    if (source[i] === '}' && (depth -= 1) === 0) return { start: open, end: i + 1, body: source.slice(open + 1, i) };
  }
  throw new Error(`unclosed block after ${prefix}`);
}

function variables(body) {
  const found = new Map();
  for (const [, name, value] of body.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)) found.set(name, value.trim());
  return found;
}

/** A colour as [r, g, b, alpha] (0-255, alpha 0-1): #rgb, #rrggbb, or rgb(r g b / a%). */
export function parseColour(text) {
  let m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text);
  if (m) {
    const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)).concat(1);
  }
  m = /^rgb\(\s*(\d+)\s+(\d+)\s+(\d+)\s*(?:\/\s*([\d.]+)(%?))?\s*\)$/.exec(text);
  if (m) {
    const alpha = m[4] === undefined ? 1 : Number(m[4]) / (m[5] ? 100 : 1);
    return [Number(m[1]), Number(m[2]), Number(m[3]), alpha];
  }
  throw new Error(`not a colour this test reads: ${text}`);
}

/** Paint `top` over the opaque `under`. */
function over(top, under) {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
}

function luminance([r, g, b]) {
  const channel = (v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const TEXT = 4.5;
const LARGE = 3; // large text, and what is not text (WCAG 1.4.11)

// [foreground, background layers from the bottom up, minimum]. A translucent
// layer is painted over the ones below it; the page (--bg) is under everything.
const PAIRS = [
  ['--text', ['--bg'], TEXT],
  ['--text', ['--surface'], TEXT],
  ['--text', ['--surface-2'], TEXT],
  ['--text', ['--surface-2', '--hover'], TEXT],
  ['--text', ['--neutral-soft'], TEXT],
  ['--text', ['--accent-soft'], TEXT],
  ['--text', ['--highlight'], TEXT],
  ['--text', ['--mention-me-bg'], TEXT],
  ['--text', ['--mention-me-hover'], TEXT],
  ['--text', ['--code-bg'], TEXT],
  ['--text', ['--pre-bg'], TEXT],
  ['--text', ['--danger-soft'], TEXT],
  ['--text', ['--warning-soft'], TEXT],
  ['--text', ['--success-soft'], TEXT],
  ['--muted', ['--bg'], TEXT],
  ['--muted', ['--surface'], TEXT],
  ['--muted', ['--surface-2'], TEXT],
  ['--muted', ['--surface-2', '--hover'], TEXT],
  ['--muted', ['--neutral-soft'], TEXT],
  ['--muted', ['--accent-soft'], TEXT],
  ['--muted', ['--mention-me-bg'], TEXT],
  ['--muted', ['--mention-me-hover'], TEXT],
  ['--muted', ['--highlight'], TEXT],
  ['--muted', ['--danger-soft'], TEXT],
  ['--quote-text', ['--surface'], TEXT],
  ['--quote-text', ['--mention-me-bg'], TEXT],
  ['--accent', ['--bg'], TEXT],
  ['--accent', ['--surface'], TEXT],
  ['--accent', ['--surface-2'], TEXT],
  ['--accent', ['--accent-soft'], TEXT],
  ['--accent', ['--surface', '--drop-zone-bg'], TEXT],
  ['--on-accent', ['--accent'], TEXT],
  ['--on-accent', ['--accent-hover'], TEXT],
  ['--danger', ['--surface'], TEXT],
  ['--danger', ['--danger-soft'], TEXT],
  ['--on-danger', ['--danger'], TEXT],
  ['--warning', ['--surface'], TEXT],
  ['--warning', ['--warning-soft'], TEXT],
  ['--success', ['--surface'], TEXT],
  ['--success', ['--surface-2'], TEXT],
  ['--private', ['--private-soft'], TEXT],
  ['--private', ['--surface-2'], TEXT],
  ['--private', ['--accent-soft'], TEXT],
  ['--ephemeral', ['--ephemeral-soft'], TEXT],
  ['--bot', ['--bot-soft'], TEXT],
  ['--mention-me', ['--mention-me-soft'], TEXT],
  ['--toast-text', ['--toast-bg'], TEXT],
  ['--on-overlay', ['--bg', '--overlay'], TEXT],
  ['--on-overlay-muted', ['--bg', '--overlay'], TEXT],
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ['--avatar-text', [`--avatar-${i}`], TEXT]),
  // Not text: the focus outline, the online dot, the mention bar.
  ['--accent', ['--surface'], LARGE],
  ['--success', ['--surface-2'], LARGE],
  ['--mention-me-bar', ['--mention-me-bg'], LARGE],
];

const light = blockAfter(CSS, ':root {');
const dark = blockAfter(CSS, ':root[data-theme="dark"] {');
const media = blockAfter(CSS, '@media (prefers-color-scheme: dark) {');
const system = blockAfter(media.body, ':root[data-theme="system"] {');
const THEMES = { light: variables(light.body), dark: new Map([...variables(light.body), ...variables(dark.body)]) };

function colourOf(theme, name) {
  const value = THEMES[theme].get(name);
  assert.ok(value, `${name} is not declared for the ${theme} theme`);
  return parseColour(value);
}

for (const theme of Object.keys(THEMES)) {
  test(`every text colour of the ${theme} theme meets WCAG AA on the backgrounds it is used on`, () => {
    const failures = [];
    for (const [fg, layers, minimum] of PAIRS) {
      let background = colourOf(theme, '--bg');
      for (const layer of layers) background = over(colourOf(theme, layer), background);
      const ratio = contrast(over(colourOf(theme, fg), background), background);
      if (ratio < minimum) failures.push(`${fg} on ${layers.join(' + ')}: ${ratio.toFixed(2)} < ${minimum}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('the dark theme sets every colour the light theme has', () => {
  const colourNames = (vars) => [...vars].filter(([, v]) => /^(#|rgb\()/.test(v)).map(([n]) => n).sort();
  assert.deepEqual(colourNames(variables(dark.body)), colourNames(variables(light.body)));
});

test('"system" on a dark system is the dark theme, value for value', () => {
  assert.deepEqual([...variables(system.body)], [...variables(dark.body)]);
});

test('no rule outside the theme blocks writes a colour of its own', () => {
  const rest = CSS.slice(0, light.start) + CSS.slice(light.end, dark.start) + CSS.slice(dark.end, media.start) + CSS.slice(media.end);
  const withoutComments = rest.replace(/\/\*[\s\S]*?\*\//g, '');
  const literal = /#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(|:\s*(?:white|black|red|green|blue|gray|grey)\b/gi;
  const found = [...withoutComments.matchAll(literal)].map((m) => withoutComments.slice(Math.max(0, m.index - 40), m.index + 20).trim());
  assert.deepEqual(found, [], 'use a variable from the theme blocks (and give it a dark value)');
});

test('the colour reader and the contrast formula agree with known values', () => {
  assert.equal(contrast(parseColour('#000'), parseColour('#ffffff')).toFixed(1), '21.0');
  assert.equal(contrast(parseColour('#767676'), parseColour('#fff')).toFixed(2), '4.54');
  assert.deepEqual(over(parseColour('rgb(0 0 0 / 50%)'), parseColour('#ffffff')), [127.5, 127.5, 127.5, 1]);
});
