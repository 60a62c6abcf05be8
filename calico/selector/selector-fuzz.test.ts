// Property tests: the parser never throws, and any valid tree, however it is spelled, parses back
// to a selector that evaluates like the tree (compiled and interpreted evaluators agree).
import { describe, expect, it } from 'vitest';
import type { SelectorNode } from './ast.js';
import { renderSelector } from './ast.js';
import { compileSelector, evaluateSelector } from './evaluate.js';
import { parseSelector } from './index.js';
import { seededRandom } from '../../testing/seeded-random.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const LABELS = ['a', 'b', 'k8s.io/app-name_2', 'in', 'has'];
const VALUES = ['', 'v', 'w', 'vw', 'x y', 'say "hi"', "it's"];

function randomTree(r: Rand, depth: number): SelectorNode {
  const label = pick(r, LABELS);
  const leafKinds = [
    'all',
    'global',
    'has',
    'eq',
    'ne',
    'contains',
    'startsWith',
    'endsWith',
    'in',
    'notIn',
  ] as const;
  const kind = depth > 0 && r() < 0.4 ? pick(r, ['not', 'and', 'or'] as const) : pick(r, leafKinds);
  switch (kind) {
    case 'all':
    case 'global':
      return { kind };
    case 'has':
      return { kind, label };
    case 'in':
    case 'notIn':
      return { kind, label, values: Array.from({ length: Math.floor(r() * 4) }, () => pick(r, VALUES)) };
    case 'not':
      return { kind, operand: randomTree(r, depth - 1) };
    case 'and':
    case 'or':
      return {
        kind,
        operands: Array.from({ length: 2 + Math.floor(r() * 3) }, () => randomTree(r, depth - 1)),
      };
    default:
      return { kind, label, value: pick(r, VALUES) };
  }
}

// Spells a tree with random legal variations: whitespace, quotes, operator spellings, redundant
// parentheses, double negations and trailing commas.
function spellLoosely(r: Rand, node: SelectorNode): string {
  const ws = (): string => pick(r, ['', '', ' ', '\t', '  ']);
  const ws1 = (): string => pick(r, [' ', '\t', ' \t ']);
  const lit = (v: string): string =>
    v.includes('"') || (!v.includes("'") && r() < 0.5) ? `'${v}'` : `"${v}"`;
  let text: string;
  switch (node.kind) {
    case 'all':
    case 'global':
      text = `${node.kind}(${ws()})`;
      break;
    case 'has':
      text = `has(${ws()}${node.label}${ws()})`;
      break;
    case 'eq':
    case 'ne':
      text = `${node.label}${ws()}${node.kind === 'eq' ? '==' : '!='}${ws()}${lit(node.value)}`;
      break;
    case 'contains':
      text = `${node.label}${ws1()}contains${ws()}${lit(node.value)}`;
      break;
    case 'startsWith':
    case 'endsWith': {
      const first = node.kind === 'startsWith' ? 'starts' : 'ends';
      text = `${node.label}${ws1()}${first}${ws()}with${ws()}${lit(node.value)}`;
      break;
    }
    case 'in':
    case 'notIn': {
      const op = node.kind === 'in' ? 'in' : `not${ws()}in`;
      const items = node.values.map((v) => `${ws()}${lit(v)}${ws()}`).join(',');
      const trailing = node.values.length > 0 && r() < 0.3 ? ',' : '';
      text = `${node.label}${ws1()}${op}${ws()}{${items}${trailing}${ws()}}`;
      break;
    }
    case 'not':
      text = `!${ws()}${spellWrapped(r, node.operand)}`;
      break;
    case 'and':
    case 'or': {
      const op = node.kind === 'and' ? '&&' : '||';
      text = node.operands.map((o) => `${ws()}${spellWrapped(r, o)}${ws()}`).join(op);
      break;
    }
  }
  if (r() < 0.1) text = `!!${ws()}(${text})`;
  return r() < 0.2 ? `(${ws()}${text}${ws()})` : text;
}

// Operands of !, && and || need parentheses when they are themselves && / || expressions.
function spellWrapped(r: Rand, node: SelectorNode): string {
  const text = spellLoosely(r, node);
  return node.kind === 'and' || node.kind === 'or' ? `(${text})` : text;
}

function randomLabels(r: Rand): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of LABELS) if (r() < 0.6) m.set(l, pick(r, VALUES));
  return m;
}

describe('selector property tests', () => {
  it('random valid trees, spelled loosely or canonically, evaluate like the tree', () => {
    const r = seededRandom(1).next;
    for (let i = 0; i < 400; i++) {
      const tree = randomTree(r, 3);
      const compiled = compileSelector(tree);
      for (const text of [renderSelector(tree), spellLoosely(r, tree)]) {
        const parsed = parseSelector(text);
        if (!parsed.ok) throw new Error(`${JSON.stringify(text)} failed: ${parsed.error}`);
        for (let j = 0; j < 8; j++) {
          const labels = randomLabels(r);
          const expected = evaluateSelector(tree, labels);
          expect(parsed.selector.matches(labels), text).toBe(expected);
          expect(compiled(labels)).toBe(expected);
        }
        // Canonical text is a fixed point: rendering the parse of the canonical text changes nothing.
        const canonical = parsed.selector.toString();
        const again = parseSelector(canonical);
        expect(again.ok && again.selector.toString()).toBe(canonical);
      }
    }
  });

  it('random strings never throw; whatever parses has a stable canonical form', () => {
    const pieces = [
      'a',
      'b.c',
      'x',
      '==',
      '!=',
      '!',
      '&&',
      '||',
      '&',
      '|',
      '=',
      '(',
      ')',
      '{',
      '}',
      ',',
      '"v"',
      "'w'",
      '"',
      "'",
      ' ',
      ' ',
      '\t',
      '\n',
      'in',
      'not',
      'notin',
      'contains',
      'starts',
      'with',
      'ends',
      'has(',
      'has',
      'all()',
      'global()',
      'all(',
      '@',
      'é',
      '-',
      '/',
      '😀',
    ];
    const r = seededRandom(2).next;
    let parsedCount = 0;
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: Math.floor(r() * 12) }, () => pick(r, pieces)).join('');
      const result = parseSelector(text);
      if (!result.ok) continue;
      parsedCount++;
      const canonical = result.selector.toString();
      const again = parseSelector(canonical);
      expect(again.ok && again.selector.toString(), text).toBe(canonical);
      const labels = randomLabels(r);
      expect(again.ok && again.selector.matches(labels)).toBe(result.selector.matches(labels));
    }
    // The generator must reach the valid part of the grammar for this test to mean anything.
    expect(parsedCount).toBeGreaterThan(100);
  });
});
