// `alp-node explain`'s second answer: the verdict the kernel gives the same connection at L3/L4,
// from the same calculation alp-node's enforcement renders — egress at the source pod's node,
// ingress at the destination's — and the nft rule that decides it.
import { PolicyCalculator } from '../agent/calc/calculator.js';
import type { PodInfo, ResourceEvent } from '../agent/calc/cluster-model.js';
import type { EndpointView } from '../agent/calc/endpoint-view.js';
import { podWithIp, type ExplainQuery } from '../agent/explain.js';
import { protocolLabel, protocolNumber } from '../calico/rule-spec.js';
import {
  DEFAULT_ENFORCEMENT_CONFIG,
  explainFlow,
  stateFromEndpointViews,
  type FlowExplanation,
} from '../dataplane/core/index.js';

interface NodeVerdict {
  readonly node: string;
  readonly explanation: FlowExplanation;
}

/** The kernel's verdict on the connection `q` asks about, as lines for the explain output. */
export function explainKernel(events: readonly ResourceEvent[], q: ExplainQuery): string {
  const pods = new Map<string, PodInfo>();
  for (const e of events)
    if (e.type === 'upsert' && e.resource.kind === 'Pod')
      pods.set(`${e.resource.pod.namespace}/${e.resource.pod.name}`, e.resource.pod);
  // A source or destination given as an address is still a pod when a pod has it: its node
  // polices it as that pod's.
  const src =
    q.from.kind === 'pod'
      ? pods.get(q.from.pod)
      : q.from.ip === null
        ? undefined
        : podWithIp(events, q.from.ip);
  const srcIp = q.from.kind === 'pod' ? src?.ips[0] : (q.from.ip ?? undefined);
  if (srcIp === undefined)
    return 'kernel:     no verdict without a source address (give --from <pod> or --from-ip)';
  const dst = q.to.kind === 'pod' ? pods.get(q.to.pod) : podWithIp(events, q.to.ip);
  let dstIp: string | undefined;
  if (q.to.kind === 'ip') dstIp = q.to.ip;
  else if (dst === undefined) return `kernel:     no verdict: no pod ${q.to.pod}`;
  else {
    dstIp = dst.ips.find((ip) => ip.includes(':') === srcIp.includes(':'));
    if (dstIp === undefined)
      return `kernel:     no verdict: ${q.to.pod} has no address of the source's family`;
  }
  const flow = describeFlow(q, srcIp, dstIp);

  // The source's node polices its egress, the destination's node its ingress; one node does both
  // when they share it. An end that is no pod of ours is policed only at the other end's node.
  const nodes = [...new Set([src?.nodeName, dst?.nodeName].filter((n): n is string => !!n))];
  if (nodes.length === 0)
    return `kernel:     ALLOW, not policed: neither end of ${flow} is a pod (alp-node polices its pods' traffic)`;
  const verdicts: NodeVerdict[] = nodes.map((node) => ({
    node,
    explanation: explainFlow(nodeState(events, node), {
      srcIp,
      dstIp,
      protocol: protocolNumber(q.protocol),
      ...(q.port === null ? {} : { dstPort: q.port }),
      ...(q.fromPort === null ? {} : { srcPort: q.fromPort }),
      ...(q.icmpType === null ? {} : { icmpType: q.icmpType }),
      ...(q.icmpCode === null ? {} : { icmpCode: q.icmpCode }),
    }),
  }));
  const denied = verdicts.find((v) => v.explanation.verdict === 'deny');
  const lines = [
    `kernel:     ${denied === undefined ? 'ALLOW' : 'DROP'} at L3/L4 (nftables, first packet of ${flow})`,
  ];
  for (const { node, explanation: x } of verdicts) {
    if (x.error !== null) {
      lines.push(`  node ${node}: DROP (${x.error})`);
      continue;
    }
    const steps = x.endpoints.map((s) => `${s.direction} of ${s.workloadId}: ${s.verdict}`).join(', ');
    lines.push(
      `  node ${node}: ${x.verdict === 'allow' ? 'ALLOW' : 'DROP'}${steps === '' ? '' : ` (${steps})`}`,
    );
    const d = x.decidedBy;
    if (d !== null) {
      const tier = d.tier === '' ? '' : `tier ${d.tier}, `;
      const who = d.policy === '' ? `${tier}${d.kind}` : `${tier}${d.policy}`;
      lines.push(`    decided by ${who}${d.ruleIndex >= 0 ? ` rule ${d.ruleIndex}` : ''}: ${d.rule}`);
    }
  }
  return lines.join('\n');
}

/** The renderer's state for `node`, as that node's alp-node would build it. */
function nodeState(events: readonly ResourceEvent[], node: string) {
  const calc = new PolicyCalculator(node);
  for (const e of events) calc.apply(e);
  calc.apply({ type: 'in-sync' });
  const views: EndpointView[] = [];
  for (const id of calc.localEndpointIds()) {
    const v = calc.endpointView(id);
    if (v !== null) views.push(v);
  }
  return stateFromEndpointViews(DEFAULT_ENFORCEMENT_CONFIG, views);
}

/** `TCP 192.0.2.1 port 40000 → 192.0.2.2 port 80`, `ICMP 192.0.2.1 → 192.0.2.2 type 8 code 0`. */
function describeFlow(q: ExplainQuery, srcIp: string, dstIp: string): string {
  const from = q.fromPort === null ? srcIp : `${srcIp} port ${q.fromPort}`;
  const to = q.port === null ? dstIp : `${dstIp} port ${q.port}`;
  const icmp =
    q.icmpType === null ? '' : ` type ${q.icmpType}${q.icmpCode === null ? '' : ` code ${q.icmpCode}`}`;
  return `${protocolLabel(q.protocol)} ${from} → ${to}${icmp}`;
}
