/*
 * The browser client's modules import each other without a cycle. ES modules
 * tolerate cycles as long as nothing calls across one while loading, which is
 * exactly the kind of rule that breaks silently; so the graph must stay a
 * tree of layers. Only relative `import ... from './x.js'` lines count (the
 * client imports nothing else).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../static/js/parley/', import.meta.url));
// `import {a} from './x.js'`, `import * as x from './x.js'`, `import './x.js'`, `export ... from './x.js'`,
// spread over several lines or not; dynamic import('./x.js') counts too.
const IMPORT = /(?:^|[\s;])(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?['"](\.\/[\w.-]+\.js)['"]|\bimport\(\s*['"](\.\/[\w.-]+\.js)['"]\s*\)/g;

export function importsOf(source) {
  const found = new Set();
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  for (const match of code.matchAll(IMPORT)) found.add((match[1] || match[2]).slice(2));
  return [...found];
}

export function findCycle(graph) {
  const state = new Map(); // name -> 'visiting' | 'done'
  const stack = [];
  const visit = (name) => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const next of graph.get(name) || []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const name of [...graph.keys()].sort()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return null;
}

function clientGraph() {
  const graph = new Map();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.js')).sort()) {
    graph.set(file, importsOf(readFileSync(DIR + file, 'utf8')));
  }
  return graph;
}

test('the parser finds every form of relative import, and nothing in comments', () => {
  const source = [
    "import { a, b } from './a.js';",
    "import * as ui from './ui.js';",
    "import './side.js';",
    'import {\n  c,\n  d,\n} from "./multi.js";',
    "export { e } from './re.js';",
    "const m = await import('./lazy.js');",
    "// import { x } from './commented.js';",
    "/* import { y } from './block.js'; */",
  ].join('\n');
  assert.deepEqual(importsOf(source).sort(), ['a.js', 'lazy.js', 'multi.js', 're.js', 'side.js', 'ui.js']);
});

test('the cycle finder reports a cycle and accepts layers', () => {
  assert.deepEqual(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), null);
});

test('every imported module exists', () => {
  const graph = clientGraph();
  for (const [name, imports] of graph) {
    for (const target of imports) assert.ok(graph.has(target), `${name} imports ${target}, which does not exist`);
  }
});

test('the browser modules import each other without a cycle', () => {
  const cycle = findCycle(clientGraph());
  assert.equal(cycle, null, `import cycle: ${(cycle || []).join(' -> ')}`);
});
