// Runs every decide case through the wire codecs, a PolicyStore and decide().
import { describe, expect, it } from 'vitest';
import { PolicyStore } from './policy-store.js';
import { decideCases } from '../testing/decide-cases/decide.cases.js';
import { decide } from './decide.js';
import { flowFromCheckRequest } from './flow.js';
import { decodeCheckRequest, decodeToDataplane } from '../testing/wire-round-trip.js';

describe('decide cases (spec §7 and the deliberate differences)', () => {
  it('has unique case names', () => {
    const names = decideCases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(decideCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const store = new PolicyStore();
    for (const msg of c.messages) {
      const result = store.apply(decodeToDataplane(msg));
      expect(result.ok, JSON.stringify(result)).toBe(true);
    }
    const verdict = decide(store, flowFromCheckRequest(decodeCheckRequest(c.request)));
    expect(verdict.code, verdict.message).toBe(c.expect.code);
    if (c.expect.message !== undefined) expect(verdict.message).toBe(c.expect.message);
    if (c.expect.code === 0 || c.expect.code === 7) {
      if (verdict.reason !== 'invalid-principal') expect(verdict.message).toBe('');
    }
  });
});
