// Every black-box decision case: Calico's check_test.go and match_test.go (spec §7.1, §7.2) and
// one or more per deliberate difference (README, Differences from Calico's Dikastes), as wire data. The unit runner
// (decide.cases.test.ts) and the lead's gRPC suite run the same list: stream `messages` over
// PolicySync, then InSync, then send `request` to Check.
import { checkTestCases } from './check-test.cases.js';
import { differenceCases } from './differences.cases.js';
import { matchL4NetCases } from './match-l4-net.cases.js';
import { matchPeerHttpCases } from './match-peer-http.cases.js';
import { pathNormalisationCases } from './path-normalisation.cases.js';
import type { DecideCase } from './decide-case.js';

/**
 * Spec rows with no black-box form, and why: they run as unit tests elsewhere or not at all.
 */
export const skippedRows: ReadonlyArray<{ row: string; why: string }> = [
  {
    row: '7.1 #22, #23',
    why: 'LookupEndpointKeysFromSrcDst is vestigial Calico API, never wired to a Check',
  },
  {
    row: '7.1 #26, #27 traces',
    why: 'traces are not on the wire; verdict.test.ts checks decidedBy and staged',
  },
  { row: '7.2 #96 fuzz', why: 'http-path.test.ts fuzzes the normaliser' },
  {
    row: '7.2 #102j–cc with protocols other than 6/17',
    why: 'a CheckRequest carries only TCP or UDP; match-rule.test.ts covers arbitrary numbers',
  },
];

export const decideCases: readonly DecideCase[] = [
  ...checkTestCases,
  ...matchPeerHttpCases,
  ...pathNormalisationCases,
  ...matchL4NetCases,
  ...differenceCases,
];
