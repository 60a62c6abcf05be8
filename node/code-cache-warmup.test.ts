import { describe, expect, it } from 'vitest';
import { warmStartPath } from './code-cache-warmup.js';

// The build runs warmStartPath before writing alp-node's code cache. If one of its objects stops
// parsing, or its pods stop being local endpoints, the cache silently warms less: hold it here.
describe('warmStartPath', () => {
  it('takes every object of its cluster through the calculation to a full table and an edit', () => {
    const r = warmStartPath();
    expect(r.refused).toEqual([]);
    expect(r.localEndpoints).toBe(3);
    expect(r.fullTextBytes).toBeGreaterThan(5_000);
    expect(r.editTextBytes).toBeGreaterThan(0);
  });
});
