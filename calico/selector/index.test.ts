// The selector cache: hits return the same result, and the cache stays within its bound.
import { describe, expect, it } from 'vitest';
import { createSelectorCache, parseSelectorCached } from './index.js';

describe('selector cache', () => {
  it('returns the same parsed selector for repeated text', () => {
    const cache = createSelectorCache(4);
    const first = cache.parse('app == "x"');
    expect(cache.parse('app == "x"')).toBe(first);
    expect(first.ok).toBe(true);
  });

  it('caches parse failures as failures', () => {
    const cache = createSelectorCache(4);
    const bad = cache.parse('not.a.real.selector');
    expect(bad.ok).toBe(false);
    expect(cache.parse('not.a.real.selector')).toBe(bad);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = createSelectorCache(2);
    const a = cache.parse('has(a)');
    cache.parse('has(b)');
    cache.parse('has(a)'); // a is now the most recent
    cache.parse('has(c)'); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.parse('has(a)')).toBe(a);
  });

  it('the shared cache parses like parseSelector', () => {
    const result = parseSelectorCached("place == 'src'");
    expect(result.ok && result.selector.matches(new Map([['place', 'src']]))).toBe(true);
    expect(parseSelectorCached("place == 'src'")).toBe(result);
  });
});
