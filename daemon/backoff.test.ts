import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff.js';

describe('backoffDelayMs', () => {
  const mid = () => 0.5;
  it('starts at the initial delay', () => {
    expect(backoffDelayMs(0, DEFAULT_BACKOFF, mid)).toBe(200);
  });
  it('doubles per attempt until the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(a, DEFAULT_BACKOFF, mid))).toEqual([
      400, 800, 1600, 3200, 5000, 5000,
    ]);
  });
  it('stays within the jitter band around the capped delay', () => {
    expect(backoffDelayMs(50, DEFAULT_BACKOFF, () => 0)).toBe(4000);
    expect(backoffDelayMs(50, DEFAULT_BACKOFF, () => 0.999999)).toBeLessThanOrEqual(6000);
  });
});
