// Does one compiled rule match the request? A conjunction of clauses (spec §5.3). Pure boolean
// clauses run cheapest first; the path clause keeps its place so that INVALID_ARGUMENT arises
// exactly when Calico's would: only once every source, destination and method clause matched,
// and before the L4 protocol, which Calico checks last.
import type { CompiledRule, IdentityClause } from './compiled.js';
import { normalizeHttpPath } from './http-path.js';
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
  if (!ctx.protocolValid) return false;
  if (r.protocol !== null && r.protocol !== ctx.protocol) return false;
  return r.notProtocol === null || r.notProtocol !== ctx.protocol;
}

export function matchRule(r: CompiledRule, ctx: RequestContext): RuleMatch {
  // A path that will raise INVALID_ARGUMENT must not be hidden by the protocol, checked last by Calico.
  const pathsDeferProtocol = r.paths !== null && ctx.pathInvalid;
  if (!pathsDeferProtocol && !protocolMatches(r, ctx)) return NO_MATCH;

  if (r.dstPort !== null && !portClauseHits(r.dstPort, ctx.dstPort, ctx.dstKey)) return NO_MATCH;
  if (r.srcPort !== null && !portClauseHits(r.srcPort, ctx.srcPort, ctx.srcKey)) return NO_MATCH;
  if (r.notDstPort !== null && portClauseHits(r.notDstPort, ctx.dstPort, ctx.dstKey)) return NO_MATCH;
  if (r.notSrcPort !== null && portClauseHits(r.notSrcPort, ctx.srcPort, ctx.srcKey)) return NO_MATCH;

  if (r.dstIpPortSets !== null && !matchIpPortSets(r.dstIpPortSets, ctx.dstKey)) return NO_MATCH;
  if (r.srcNet !== null && !matchNet(r.srcNet, ctx.srcIp)) return NO_MATCH;
  if (r.dstNet !== null && !matchNet(r.dstNet, ctx.dstIp)) return NO_MATCH;
  if (r.notSrcNet !== null && !matchNotNet(r.notSrcNet, ctx.srcIp)) return NO_MATCH;
  if (r.notDstNet !== null && !matchNotNet(r.notDstNet, ctx.dstIp)) return NO_MATCH;
  if ((r.srcSets !== null || r.notSrcSets !== null) && !matchIpSets(r.srcSets, r.notSrcSets, ctx.srcIp))
    return NO_MATCH;
  if ((r.dstSets !== null || r.notDstSets !== null) && !matchIpSets(r.dstSets, r.notDstSets, ctx.dstIp))
    return NO_MATCH;

  if (r.srcServiceAccount !== null && !matchIdentity(r.srcServiceAccount, ctx.src, false)) return NO_MATCH;
  if (r.srcNamespace !== null && !matchIdentity(r.srcNamespace, ctx.src, true)) return NO_MATCH;
  if (r.dstServiceAccount !== null && !matchIdentity(r.dstServiceAccount, ctx.dst, false)) return NO_MATCH;
  if (r.dstNamespace !== null && !matchIdentity(r.dstNamespace, ctx.dst, true)) return NO_MATCH;

  if (r.methods !== null && !matchMethods(r.methods, ctx.method)) return NO_MATCH;
  if (r.paths !== null && ctx.rawPath !== null) {
    if (ctx.pathInvalid) return INVALID_PATH;
    if (ctx.normalizedPath === undefined) ctx.normalizedPath = normalizeHttpPath(ctx.rawPath);
    if (!matchPaths(r.paths, ctx.normalizedPath)) return NO_MATCH;
  }
  // With pathsDeferProtocol the path clause above has already answered INVALID_PATH.
  return MATCH;
}
