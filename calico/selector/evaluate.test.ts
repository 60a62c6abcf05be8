// The interpreted and compiled evaluators agree on every node kind, present and absent labels alike.
import { describe, expect, it } from 'vitest';
import type { SelectorNode } from './ast.js';
import { compileSelector, evaluateSelector } from './evaluate.js';

const PRESENT = new Map([['l', 'abc']]);
const EMPTY = new Map([['l', '']]);
const ABSENT = new Map([['other', 'abc']]);

// [rule, node, expected with l=abc, with l="", with l absent]
const CASES: [string, SelectorNode, boolean, boolean, boolean][] = [
  ['all() is always true', { kind: 'all' }, true, true, true],
  ['global() is always true', { kind: 'global' }, true, true, true],
  ['has is presence', { kind: 'has', label: 'l' }, true, true, false],
  ['eq needs presence', { kind: 'eq', label: 'l', value: '' }, false, true, false],
  ['ne is true when absent', { kind: 'ne', label: 'l', value: '' }, true, false, true],
  ['contains needs presence', { kind: 'contains', label: 'l', value: '' }, true, true, false],
  ['startsWith', { kind: 'startsWith', label: 'l', value: 'ab' }, true, false, false],
  ['endsWith', { kind: 'endsWith', label: 'l', value: 'bc' }, true, false, false],
  ['in', { kind: 'in', label: 'l', values: ['', 'abc'] }, true, true, false],
  ['notIn is true when absent', { kind: 'notIn', label: 'l', values: ['abc'] }, false, true, true],
  ['not', { kind: 'not', operand: { kind: 'has', label: 'l' } }, false, false, true],
  [
    'and of three',
    {
      kind: 'and',
      operands: [{ kind: 'has', label: 'l' }, { kind: 'all' }, { kind: 'ne', label: 'l', value: '' }],
    },
    true,
    false,
    false,
  ],
  [
    'or of two',
    {
      kind: 'or',
      operands: [
        { kind: 'eq', label: 'l', value: '' },
        { kind: 'has', label: 'other' },
      ],
    },
    false,
    true,
    true,
  ],
];

describe('selector evaluators', () => {
  it.each(CASES)('%s', (_rule, node, withValue, withEmpty, absent) => {
    const compiled = compileSelector(node);
    for (const [labels, expected] of [
      [PRESENT, withValue],
      [EMPTY, withEmpty],
      [ABSENT, absent],
    ] as const) {
      expect(evaluateSelector(node, labels)).toBe(expected);
      expect(compiled(labels)).toBe(expected);
    }
  });
});
