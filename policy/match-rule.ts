// Does one compiled rule match the request? A conjunction of clauses (spec §5.3). Pure boolean
// clauses run cheapest first; the path clause keeps its place so that INVALID_ARGUMENT arises
// exactly when Calico's would: only once every source, destination and method clause matched,
// and before the L4 protocol, which Calico checks last.
import {
  CLAUSE_DST_IP_PORT_SETS,
  CLAUSE_DST_NAMESPACE,
  CLAUSE_DST_NET,
  CLAUSE_DST_PORT,
  CLAUSE_DST_SERVICE_ACCOUNT,
  CLAUSE_DST_SETS,
  CLAUSE_METHODS,
  CLAUSE_NOT_DST_NET,
  CLAUSE_NOT_DST_PORT,
  CLAUSE_NOT_SRC_NET,
  CLAUSE_NOT_SRC_PORT,
  CLAUSE_PATHS,
  CLAUSE_PROTOCOL,
  CLAUSE_SRC_NAMESPACE,
  CLAUSE_SRC_NET,
  CLAUSE_SRC_PORT,
  CLAUSE_SRC_SERVICE_ACCOUNT,
  CLAUSE_SRC_SETS,
} from './compiled.js';
import type { CompiledRule, IdentityClause } from './compiled.js';
import { normalizeHttpPathCached } from './http-path.js';
import { matchMethods, matchPaths } from './match-http.js';
import { matchIpPortSets, matchIpSets, matchNet, matchNotNet, portClauseHits } from './match-ip.js';
import type { PeerIdentity, RequestContext } from './request-context.js';

export const NO_MATCH = 0;
export const MATCH = 1;
/** The rule has path criteria and the request path does not start with `/`. */
export const INVALID_PATH = 2;
export type RuleMatch = typeof NO_MATCH | typeof MATCH | typeof INVALID_PATH;

// The anonymous peer (null) passes; Calico's matchServiceAccounts and matchNamespace agree on that.
function matchIdentity(clause: IdentityClause, peer: PeerIdentity | null, namespaceSide: boolean): boolean {
  if (peer === null) return true;
  const name = namespaceSide ? peer.namespace : peer.serviceAccount;
  const names = clause.names;
  if (names !== null && !names.includes(name)) return false;
  if (clause.selectorInvalid) return false;
  const selector = clause.selector;
  return selector === null || selector.matches(namespaceSide ? peer.namespaceLabels : peer.labels);
}

function protocolMatches(r: CompiledRule, ctx: RequestContext): boolean {
  if (r.protocol !== null && r.protocol !== ctx.protocol) return false;
  return r.notProtocol === null || r.notProtocol !== ctx.protocol;
}

/**
 * The caller (evaluate.ts) has already checked the ports against the rule's port bounds; a port
 * clause those bounds decide has no bit in `r.clauses` and is not looked at again here.
 */
export function matchRule(r: CompiledRule, ctx: RequestContext): RuleMatch {
  const k = r.clauses;
  // A path that will raise INVALID_ARGUMENT must not be hidden by the protocol, checked last by Calico.
  const pathsDeferProtocol = (k & CLAUSE_PATHS) !== 0 && ctx.pathInvalid;
  if (!pathsDeferProtocol) {
    if (!ctx.protocolValid) return NO_MATCH;
    if ((k & CLAUSE_PROTOCOL) !== 0 && !protocolMatches(r, ctx)) return NO_MATCH;
  }
  if (k === 0 || k === CLAUSE_PROTOCOL) return MATCH;

  if ((k & CLAUSE_DST_PORT) !== 0 && !portClauseHits(r.dstPort!, ctx.dstPort, ctx.dstKey)) return NO_MATCH;
  if ((k & CLAUSE_SRC_PORT) !== 0 && !portClauseHits(r.srcPort!, ctx.srcPort, ctx.srcKey)) return NO_MATCH;
  if ((k & CLAUSE_NOT_DST_PORT) !== 0 && portClauseHits(r.notDstPort!, ctx.dstPort, ctx.dstKey))
    return NO_MATCH;
  if ((k & CLAUSE_NOT_SRC_PORT) !== 0 && portClauseHits(r.notSrcPort!, ctx.srcPort, ctx.srcKey))
    return NO_MATCH;

  if ((k & CLAUSE_DST_IP_PORT_SETS) !== 0 && !matchIpPortSets(r.dstIpPortSets!, ctx.dstKey)) return NO_MATCH;
  if ((k & CLAUSE_SRC_NET) !== 0 && !matchNet(r.srcNet!, ctx.srcIp)) return NO_MATCH;
  if ((k & CLAUSE_DST_NET) !== 0 && !matchNet(r.dstNet!, ctx.dstIp)) return NO_MATCH;
  if ((k & CLAUSE_NOT_SRC_NET) !== 0 && !matchNotNet(r.notSrcNet!, ctx.srcIp)) return NO_MATCH;
  if ((k & CLAUSE_NOT_DST_NET) !== 0 && !matchNotNet(r.notDstNet!, ctx.dstIp)) return NO_MATCH;
  if ((k & CLAUSE_SRC_SETS) !== 0 && !matchIpSets(r.srcSets, r.notSrcSets, ctx.srcIp)) return NO_MATCH;
  if ((k & CLAUSE_DST_SETS) !== 0 && !matchIpSets(r.dstSets, r.notDstSets, ctx.dstIp)) return NO_MATCH;

  if ((k & CLAUSE_SRC_SERVICE_ACCOUNT) !== 0 && !matchIdentity(r.srcServiceAccount!, ctx.src, false))
    return NO_MATCH;
  if ((k & CLAUSE_SRC_NAMESPACE) !== 0 && !matchIdentity(r.srcNamespace!, ctx.src, true)) return NO_MATCH;
  if ((k & CLAUSE_DST_SERVICE_ACCOUNT) !== 0 && !matchIdentity(r.dstServiceAccount!, ctx.dst, false))
    return NO_MATCH;
  if ((k & CLAUSE_DST_NAMESPACE) !== 0 && !matchIdentity(r.dstNamespace!, ctx.dst, true)) return NO_MATCH;

  if ((k & CLAUSE_METHODS) !== 0 && !matchMethods(r.methods!, ctx.method)) return NO_MATCH;
  if ((k & CLAUSE_PATHS) !== 0 && ctx.rawPath !== null) {
    if (ctx.pathInvalid) return INVALID_PATH;
    if (ctx.normalizedPath === undefined) ctx.normalizedPath = normalizeHttpPathCached(ctx.rawPath);
    if (!matchPaths(r.paths!, ctx.normalizedPath)) return NO_MATCH;
  }
  // With pathsDeferProtocol the path clause above has already answered INVALID_PATH.
  return MATCH;
}
