// Property: the compiled evaluator (PolicyStore + decide) and the plain reference interpreter agree
// on code, deciding rule and error message, for random stores and requests, staged shadow included.
import { describe, expect, it } from 'vitest';
import { PolicyStore } from './policy-store.js';
import { decide } from './decide.js';
import { flowFromCheckRequest } from './flow.js';
import { randomRequest, randomSnapshot } from '../testing/random-store.js';
import { referenceDecide } from '../testing/reference-decide.js';
import { referenceState } from '../testing/reference-state.js';
import { seededRandom } from '../testing/seeded-random.js';
import { decodeCheckRequest, decodeToDataplane } from '../testing/wire-round-trip.js';

const STORES = 150;
const REQUESTS_PER_STORE = 4;

describe('compiled decide agrees with the reference interpreter', () => {
  it(`on ${STORES * REQUESTS_PER_STORE} random checks`, () => {
    const r = seededRandom(424242);
    const seen = new Map<number, number>();
    let staged = 0;
    for (let s = 0; s < STORES; s++) {
      const messages = randomSnapshot(r).map(decodeToDataplane);
      const store = new PolicyStore();
      for (const m of messages) store.apply(m);
      const ref = referenceState(messages);
      for (let q = 0; q < REQUESTS_PER_STORE; q++) {
        const req = decodeCheckRequest(randomRequest(r));
        const flow = flowFromCheckRequest(req);
        const got = decide(store, flow);
        const want = referenceDecide(ref, flow);
        const where = `store ${s} request ${q}: ${JSON.stringify(req.attributes)}`;
        expect(got.code, where).toBe(want.code);
        expect(got.decidedBy, where).toEqual(want.decidedBy);
        if (want.code === 3 || (want.code === 13 && store.hasEndpoint))
          expect(got.message, where).toBe(want.message);
        const pending = referenceDecide(ref, flow, 'staged-as-enforced');
        if (pending.code === want.code) {
          expect(got.staged, where).toBeNull();
        } else {
          staged++;
          expect(got.staged, where).toEqual({ code: pending.code, decidedBy: pending.decidedBy });
        }
        seen.set(got.code, (seen.get(got.code) ?? 0) + 1);
      }
    }
    // The generator must reach every outcome, or the agreement says little.
    for (const code of [0, 3, 7, 13]) expect(seen.get(code) ?? 0, `code ${code} reached`).toBeGreaterThan(10);
    expect(staged).toBeGreaterThan(5);
  });
});
