import { describe, expect, it } from 'vitest';
import { inParallel } from './in-parallel.js';

describe('inParallel', () => {
  it('calls f once per item, in order of start, with at most `limit` calls in flight', async () => {
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    await inParallel([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      most = Math.max(most, ++inFlight);
      // Yield a few turns so that calls overlap.
      for (let i = 0; i < n % 3; i++) await Promise.resolve();
      inFlight--;
    });
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('rejects with the first failure', async () => {
    await expect(
      inParallel([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('item 2 failed');
      }),
    ).rejects.toThrow('item 2 failed');
  });

  it('does nothing for no items', async () => {
    let calls = 0;
    await inParallel([], 4, async () => void calls++);
    expect(calls).toBe(0);
  });
});
