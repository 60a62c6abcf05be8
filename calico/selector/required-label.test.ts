// requiredLabels must be sound: whenever a selector matches, the labels carry every required
// label with one of its values. Checked on a table and on random selectors and label maps.
import { describe, expect, it } from 'vitest';
import type { Labels } from '../labels.js';
import { parseSelector } from './index.js';
import { requiredLabels } from './required-label.js';

function required(text: string) {
  const parsed = parseSelector(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return requiredLabels(parsed.selector.root);
}

describe('requiredLabels', () => {
  it.each([
    ['app == "web"', [{ label: 'app', values: ['web'] }]],
    ['app in {"a", "b"}', [{ label: 'app', values: ['a', 'b'] }]],
    ['app in {}', [{ label: 'app', values: [] }]],
    [
      'app == "web" && env in {"a", "b"}',
      [
        { label: 'app', values: ['web'] },
        { label: 'env', values: ['a', 'b'] },
      ],
    ],
    [
      'env in {"a", "b"} && has(x) && app == "web"',
      [
        { label: 'env', values: ['a', 'b'] },
        { label: 'app', values: ['web'] },
      ],
    ],
    ['app == "a" || app == "b"', [{ label: 'app', values: ['a', 'b'] }]],
    ['(app == "a" && x == "1") || app in {"b", "c"}', [{ label: 'app', values: ['a', 'b', 'c'] }]],
    [
      '(app == "a" && x == "1") || (x == "2" && app in {"a", "b"} && app == "b")',
      [
        { label: 'app', values: ['a', 'b'] },
        { label: 'x', values: ['1', '2'] },
      ],
    ],
    ['app in {} || app in {}', [{ label: 'app', values: [] }]],
  ])('%s needs %o', (text, want) => {
    expect(required(text)).toEqual(want);
  });

  it.each([
    'all()',
    '',
    'global()',
    'has(app)',
    'app != "web"',
    '!(app == "web")',
    'app not in {"a"}',
    'app contains "w"',
    'app starts with "w"',
    'app ends with "w"',
    'app == "a" || env == "b"',
    'app == "a" || has(app)',
    '!has(app) && !has(env)',
  ])('%s needs nothing', (text) => {
    expect(required(text)).toEqual([]);
  });

  it('is sound on random selectors: every match carries a required value', () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const keys = ['a', 'b', 'c'];
    const vals = ['1', '2', '3'];
    const leaf = (): string => {
      const k = keys[next(3)]!;
      const v = vals[next(3)]!;
      return [
        `${k} == "${v}"`,
        `${k} != "${v}"`,
        `has(${k})`,
        `${k} in {"${v}", "${vals[next(3)]!}"}`,
        `${k} not in {"${v}"}`,
        'all()',
      ][next(6)]!;
    };
    const expr = (depth: number): string => {
      if (depth === 0 || next(3) === 0) return leaf();
      const op = [' && ', ' || '][next(2)]!;
      const neg = next(5) === 0 ? '!' : '';
      return `${neg}(${expr(depth - 1)}${op}${expr(depth - 1)})`;
    };
    const labelMaps: Labels[] = [];
    for (let i = 0; i < 64; i++) {
      const m = new Map<string, string>();
      for (const k of keys) if (next(4) > 0) m.set(k, vals[next(3)]!);
      labelMaps.push(m);
    }
    let indexed = 0;
    for (let i = 0; i < 500; i++) {
      const parsed = parseSelector(expr(3));
      if (!parsed.ok) throw new Error(parsed.error);
      const requirements = requiredLabels(parsed.selector.root);
      if (requirements.length > 0) indexed++;
      for (const labels of labelMaps) {
        if (!parsed.selector.matches(labels)) continue;
        for (const r of requirements) expect(r.values).toContain(labels.get(r.label));
      }
    }
    expect(indexed).toBeGreaterThan(50);
  });
});
