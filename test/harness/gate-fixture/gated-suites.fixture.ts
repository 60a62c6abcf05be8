// Suites for prerequisite-gate.test.ts: one whose prerequisite is there, and one whose
// prerequisite is missing with gated suites nested inside it, one whose prerequisite is there and
// one whose is missing too, as the WireGuard tests nest the API-server gate inside the root gate.
// The tests of the second must never run.
import { expect, it } from 'vitest';
import { describeWhen } from '../prerequisite-gate.js';

const present = { what: 'a present thing', missing: null, hint: 'nothing to do' };
const absent = { what: 'a missing tool', missing: 'not installed here', hint: 'install the tool' };
const alsoAbsent = { what: 'a server', missing: 'none running', hint: 'start one' };
const mustNotRun = (): never => {
  throw new Error('a test whose prerequisite is missing ran');
};

describeWhen('has what it needs', present, () => {
  it('runs', () => expect(1 + 1).toBe(2));
});

describeWhen('needs the tool', absent, () => {
  it('first', mustNotRun);
  it('second', mustNotRun);
  describeWhen('and the present thing', present, () => {
    it('third', mustNotRun);
  });
  describeWhen('and a server', alsoAbsent, () => {
    it('fourth', mustNotRun);
    it('fifth', mustNotRun);
  });
});
