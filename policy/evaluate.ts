// Walks the endpoint's tiers, policies and profiles for one scope (spec §4.2–§4.5), ingress only.
// Errors are values: a rule list reports them through an ErrorSink, never by throwing.
import type { CompiledEndpoint, CompiledRuleList } from './compiled.js';
import { INVALID_PATH, NO_MATCH, matchRule } from './match-rule.js';
import type { RequestContext } from './request-context.js';
import { INTERNAL, INVALID_ARGUMENT, OK, PERMISSION_DENIED, PROFILE_TIER } from './verdict.js';
import type { Decision, Outcome, StatusCode, VerdictReason } from './verdict.js';

/** What the walk needs from the store. */
export interface CompiledPolicySource {
  policy(key: string): CompiledRuleList | null | undefined;
  profile(name: string): CompiledRuleList | null | undefined;
  /** IpSetSlots.v4Bounds, which the rule lists' firstSets index. */
  readonly ipSetV4Bounds: Uint32Array;
  readonly missingIpSetRefs: number;
}

export type Scope = 'enforced' | 'staged-as-enforced';

class ErrorSink {
  code: StatusCode = INTERNAL;
  message = '';
  reason: VerdictReason = 'internal-error';

  set(code: StatusCode, reason: VerdictReason, message: string): void {
    this.code = code;
    this.reason = reason;
    this.message = message;
  }
}

const RULES_NO_MATCH = -1;
const RULES_ERROR = -2;

/** Lists shorter than this are walked rule by rule: a memo lookup would cost about as much. */
const MIN_RULES_FOR_CANDIDATES = 16;
/** Destination ports remembered per list; a sidecar's pod listens on few. */
const MAX_CANDIDATE_PORTS = 8;

/**
 * The indices, in order, of the list's rules whose destination port bounds admit `port`, built
 * on the first Check to that port and kept with the list (which never changes; a policy update
 * compiles a new one); null when the list is short or already remembers enough ports, and the
 * walk then tests every rule. In a long list, most rules name a destination port: this way a
 * walk does not read every rule's bounds again on each Check.
 */
function dstPortCandidates(list: CompiledRuleList, port: number): Int32Array | null {
  if (list.rules.length < MIN_RULES_FOR_CANDIDATES) return null;
  const memo = list.dstPortCandidates;
  let found = memo.get(port);
  if (found !== undefined) return found;
  if (memo.size >= MAX_CANDIDATE_PORTS) return null;
  const bounds = list.portBounds;
  const indices: number[] = [];
  for (let i = 0; i < list.rules.length; i++)
    if (bounds[i * 4]! <= port && port <= bounds[i * 4 + 1]!) indices.push(i);
  found = Int32Array.from(indices);
  memo.set(port, found);
  return found;
}

/** Index of the first rule with a terminal action that matches, RULES_NO_MATCH, or RULES_ERROR. */
function evaluateRules(
  list: CompiledRuleList,
  ctx: RequestContext,
  checkMissing: boolean,
  setBounds: Uint32Array,
  err: ErrorSink,
): number {
  const rules = list.rules;
  const bounds = list.portBounds;
  const firstSets = list.firstSets;
  const dstPort = ctx.dstPort;
  const srcPort = ctx.srcPort;
  const srcV4 = ctx.srcV4;
  const dstV4 = ctx.dstV4;
  const order = checkMissing ? null : dstPortCandidates(list, dstPort);
  const n = order === null ? rules.length : order.length;
  for (let k = 0; k < n; k++) {
    const i = order === null ? k : order[k]!;
    // Prefilters on contiguous arrays: the port bounds, then the IPv4 bounds of the rule's first
    // source and destination IP sets. Most rules of a large policy set fail here without the
    // rule, its slots or its sets being read: in a long walk those reads, each a likely cache
    // miss, cost more than the lookups. Pure clauses, so rejecting early changes no answer (and
    // they are only skipped while a missing IP set must still be reported, below).
    if (!checkMissing) {
      const b = i * 4;
      if (
        dstPort < bounds[b]! ||
        dstPort > bounds[b + 1]! ||
        srcPort < bounds[b + 2]! ||
        srcPort > bounds[b + 3]!
      )
        continue;
      const srcSet = firstSets[i * 2]!;
      if (srcSet >= 0 && srcV4 >= 0 && (srcV4 < setBounds[srcSet * 2]! || srcV4 > setBounds[srcSet * 2 + 1]!))
        continue;
      const dstSet = firstSets[i * 2 + 1]!;
      if (dstSet >= 0 && dstV4 >= 0 && (dstV4 < setBounds[dstSet * 2]! || dstV4 > setBounds[dstSet * 2 + 1]!))
        continue;
    }
    const r = rules[i]!;
    // Unlike Dikastes, which ignores a missing set (fail-open, spec §8 item 3), any rule reached
    // that references one fails the Check. Checked before the clauses, so the answer does not
    // depend on clause order.
    if (checkMissing && r.slots !== null) {
      for (const slot of r.slots) {
        if (slot.set === null) {
          err.set(
            INTERNAL,
            'missing-ip-set',
            `rule ${i} of ${list.owner} references IP set ${JSON.stringify(slot.id)} that is missing from the policy store`,
          );
          return RULES_ERROR;
        }
      }
    }
    if (
      checkMissing &&
      (dstPort < r.dstPortMin || dstPort > r.dstPortMax || srcPort < r.srcPortMin || srcPort > r.srcPortMax)
    )
      continue;
    const m = matchRule(r, ctx);
    if (m === NO_MATCH) continue;
    if (m === INVALID_PATH) {
      err.set(INVALID_ARGUMENT, 'invalid-http-path', `Invalid HTTP Path "${ctx.rawPath ?? ''}"`);
      return RULES_ERROR;
    }
    switch (r.action) {
      case 'log':
        continue; // Dikastes does no logging; evaluation goes on with the next rule.
      case 'invalid':
        err.set(INVALID_ARGUMENT, 'bad-action', 'got bad action');
        return RULES_ERROR;
      default:
        return i;
    }
  }
  return RULES_NO_MATCH;
}

function decided(code: StatusCode, decision: Decision): Outcome {
  return { code, message: '', reason: code === OK ? 'allowed' : 'denied', decidedBy: decision };
}

function failed(err: ErrorSink): Outcome {
  return { code: err.code, message: err.message, reason: err.reason, decidedBy: null };
}

export function evaluateEndpoint(
  store: CompiledPolicySource,
  endpoint: CompiledEndpoint,
  ctx: RequestContext,
  scope: Scope,
): Outcome {
  const checkMissing = store.missingIpSetRefs > 0;
  const setBounds = store.ipSetV4Bounds;
  const err = new ErrorSink();
  const includeStaged = scope === 'staged-as-enforced';

  for (const tier of endpoint.tiers) {
    let inScope = 0;
    let firstNoMatch: string | null = null;
    let passed = false;
    for (const ref of tier.ingress) {
      if (ref.staged && !includeStaged) continue;
      inScope++;
      const policy = store.policy(ref.key);
      if (policy == null) {
        // Fail closed: this policy may govern the request, and we cannot know its verdict.
        err.set(
          INTERNAL,
          'missing-policy',
          `policy ${ref.rendered} of tier ${tier.name} is missing from the policy store`,
        );
        return failed(err);
      }
      const index = evaluateRules(policy, ctx, checkMissing, setBounds, err);
      if (index === RULES_ERROR) return failed(err);
      if (index === RULES_NO_MATCH) {
        firstNoMatch ??= ref.rendered;
        continue;
      }
      const action = policy.rules[index]!.action;
      const decision: Decision = {
        kind: 'policy-rule',
        tier: tier.name,
        policy: ref.rendered,
        ruleIndex: index,
      };
      if (action === 'allow') return decided(OK, decision);
      if (action === 'deny') return decided(PERMISSION_DENIED, decision);
      passed = true; // pass: skip the rest of this tier
      break;
    }
    // A tier with no in-scope policy (none for ingress, or only staged ones) has no end-of-tier action.
    if (!passed && inScope > 0 && !tier.defaultPass) {
      return decided(PERMISSION_DENIED, {
        kind: 'end-of-tier',
        tier: tier.name,
        policy: firstNoMatch ?? '',
        ruleIndex: -1,
      });
    }
  }

  if (endpoint.profileIds.length === 0) {
    return decided(PERMISSION_DENIED, {
      kind: 'no-profiles',
      tier: PROFILE_TIER,
      policy: PROFILE_TIER,
      ruleIndex: -1,
    });
  }
  for (const name of endpoint.profileIds) {
    const profile = store.profile(name);
    if (profile == null) continue; // unlike a policy, a missing profile is skipped (spec §4.3)
    const index = evaluateRules(profile, ctx, checkMissing, setBounds, err);
    if (index === RULES_ERROR) return failed(err);
    if (index === RULES_NO_MATCH) continue;
    const decision: Decision = { kind: 'profile-rule', tier: PROFILE_TIER, policy: name, ruleIndex: index };
    // A pass in a profile denies.
    return decided(profile.rules[index]!.action === 'allow' ? OK : PERMISSION_DENIED, decision);
  }
  return decided(PERMISSION_DENIED, {
    kind: 'no-profile-matched',
    tier: PROFILE_TIER,
    policy: '',
    ruleIndex: -1,
  });
}
