import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compactHeap } from './compact-heap.js';

describe('compactHeap', () => {
  it('collects, and leaves gc() exposed to no context made afterwards', () => {
    const r = compactHeap();
    expect(r).not.toBeNull();
    expect(r!.ms).toBeGreaterThanOrEqual(0);
    expect(r!.rssAfterMiB).toBeGreaterThan(0);
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
