import { describe, expect, it } from 'vitest';
import type { FlowQuery } from './explain-flow.js';
import { explainFlow } from './explain-flow.js';
import { overviewState, richState } from './states.cases.js';

const FRONTEND = '198.51.100.2';
const BACKEND = '198.51.100.3';
const ALLOW_FRONTEND = 'knp/default/knp.default.allow-frontend';

interface Case {
  readonly rule: string;
  readonly flow: FlowQuery;
  readonly verdict: 'allow' | 'deny';
  /** kind, tier, policy, ruleIndex, action of the decision (null: none of our rules applied). */
  readonly decidedBy: [string, string, string, number, string] | null;
  readonly endpoints?: string[];
}

const overview: Case[] = [
  {
    rule: "frontend → backend TCP 80: the backend's allow-frontend rule 0 admits it, after the frontend's profile let it out",
    flow: { srcIp: FRONTEND, dstIp: BACKEND, protocol: 'tcp', srcPort: 40000, dstPort: 80 },
    verdict: 'allow',
    decidedBy: ['rule', 'default', ALLOW_FRONTEND, 0, 'allow'],
    endpoints: ['default/frontend egress allow', 'default/backend ingress allow'],
  },
  {
    rule: 'frontend → backend TCP 81: no policy in the tier allows it: end-of-tier drop',
    flow: { srcIp: FRONTEND, dstIp: BACKEND, protocol: 'tcp', srcPort: 40000, dstPort: 81 },
    verdict: 'deny',
    decidedBy: ['end-of-tier', 'default', '', -1, 'deny'],
  },
  {
    rule: 'a remote member of the frontend set reaches backend TCP 80 (ingress at the destination only)',
    flow: { srcIp: '10.66.1.7', dstIp: BACKEND, protocol: 'tcp', srcPort: 40000, dstPort: 80 },
    verdict: 'allow',
    decidedBy: ['rule', 'default', ALLOW_FRONTEND, 0, 'allow'],
    endpoints: ['default/backend ingress allow'],
  },
  {
    rule: 'a remote address outside the set is denied',
    flow: { srcIp: '10.66.1.8', dstIp: BACKEND, protocol: 'tcp', srcPort: 40000, dstPort: 80 },
    verdict: 'deny',
    decidedBy: ['end-of-tier', 'default', '', -1, 'deny'],
  },
  {
    rule: 'UDP to port 80 is not TCP: denied',
    flow: { srcIp: FRONTEND, dstIp: BACKEND, protocol: 'udp', srcPort: 40000, dstPort: 80 },
    verdict: 'deny',
    decidedBy: ['end-of-tier', 'default', '', -1, 'deny'],
  },
  {
    rule: 'backend → outside: no egress policy, its namespace profile allows',
    flow: { srcIp: BACKEND, dstIp: '203.0.113.9', protocol: 'udp', srcPort: 5000, dstPort: 53 },
    verdict: 'allow',
    decidedBy: ['rule', '__PROFILE__', 'kns.default', 0, 'allow'],
    endpoints: ['default/backend egress allow'],
  },
  {
    rule: "VXLAN from a workload is dropped before its egress policy (Felix's default)",
    flow: { srcIp: BACKEND, dstIp: '203.0.113.9', protocol: 'udp', srcPort: 5000, dstPort: 4789 },
    verdict: 'deny',
    decidedBy: ['workload-encap', '', '', -1, 'deny'],
  },
  {
    rule: 'so is IPIP',
    flow: { srcIp: BACKEND, dstIp: '203.0.113.9', protocol: 4 },
    verdict: 'deny',
    decidedBy: ['workload-encap', '', '', -1, 'deny'],
  },
  {
    rule: 'pod → host: egress allowed by the profile, then DefaultEndpointToHostAction Drop',
    flow: {
      srcIp: BACKEND,
      dstIp: '192.0.2.1',
      protocol: 'tcp',
      srcPort: 5000,
      dstPort: 10250,
      toHost: true,
    },
    verdict: 'deny',
    decidedBy: ['endpoint-to-host', '', '', -1, 'deny'],
  },
  {
    rule: 'replies of an allowed connection always pass',
    flow: {
      srcIp: FRONTEND,
      dstIp: BACKEND,
      protocol: 'tcp',
      srcPort: 40000,
      dstPort: 81,
      ctState: 'established',
    },
    verdict: 'allow',
    decidedBy: ['ct-established', '', '', -1, 'allow'],
    endpoints: [],
  },
  {
    rule: 'invalid conntrack state is dropped',
    flow: {
      srcIp: FRONTEND,
      dstIp: BACKEND,
      protocol: 'tcp',
      srcPort: 40000,
      dstPort: 80,
      ctState: 'invalid',
    },
    verdict: 'deny',
    decidedBy: ['ct-invalid', '', '', -1, 'deny'],
  },
  {
    rule: 'a workload-prefixed interface no endpoint owns is dropped',
    flow: {
      srcIp: '198.51.100.99',
      dstIp: '203.0.113.9',
      protocol: 'tcp',
      srcPort: 1,
      dstPort: 2,
      iifname: 'cali99999999999',
    },
    verdict: 'deny',
    decidedBy: ['unknown-interface', '', '', -1, 'deny'],
  },
  {
    rule: 'traffic that touches no workload interface is not our business',
    flow: { srcIp: '198.51.100.1', dstIp: '203.0.113.9', protocol: 'tcp', srcPort: 1, dstPort: 2 },
    verdict: 'allow',
    decidedBy: null,
    endpoints: [],
  },
];

const WEB = '10.65.1.2';
const rich: Case[] = [
  {
    rule: 'tier security: TCP from 10.1.x to port 8050 is allowed by gnp security.first rule 5 (port range)',
    flow: { srcIp: '10.1.9.9', dstIp: WEB, protocol: 'tcp', srcPort: 999, dstPort: 8050 },
    verdict: 'allow',
    decidedBy: ['rule', 'security', 'gnp/security.first', 5, 'allow'],
  },
  {
    rule: 'named port: TCP 8080 on web is in the n:http set, allowed by the same rule',
    flow: { srcIp: '10.1.9.9', dstIp: WEB, protocol: 'tcp', srcPort: 999, dstPort: 8080 },
    verdict: 'allow',
    decidedBy: ['rule', 'security', 'gnp/security.first', 5, 'allow'],
  },
  {
    rule: 'deny with negated nets: UDP 53 from outside 10/8 is denied by rule 1',
    flow: { srcIp: '192.0.2.7', dstIp: WEB, protocol: 'udp', srcPort: 999, dstPort: 53 },
    verdict: 'deny',
    decidedBy: ['rule', 'security', 'gnp/security.first', 1, 'deny'],
  },
  {
    rule: 'ICMP echo request (type 8 code 0) is allowed by rule 2',
    flow: { srcIp: '192.0.2.7', dstIp: WEB, protocol: 'icmp', icmpType: 8, icmpCode: 0 },
    verdict: 'allow',
    decidedBy: ['rule', 'security', 'gnp/security.first', 2, 'allow'],
  },
  {
    rule: 'a packet reaching a rule whose IP set is missing is dropped there',
    flow: { srcIp: '192.0.2.7', dstIp: WEB, protocol: 'udp', srcPort: 999, dstPort: 9999 },
    verdict: 'deny',
    decidedBy: ['rule', 'security', 'gnp/security.first', 10, 'deny'],
  },
  {
    rule: 'WireGuard strict: pod traffic to a keyed peer pod CIDR leaving by another interface is dropped',
    flow: { srcIp: WEB, dstIp: '10.70.0.5', protocol: 'tcp', srcPort: 999, dstPort: 80, oifname: 'eth0' },
    verdict: 'deny',
    decidedBy: ['wireguard-strict', '', '', -1, 'deny'],
  },
  {
    rule: 'through the tunnel it meets egress policy instead: security.first egress denies every IPv4 destination',
    flow: {
      srcIp: WEB,
      dstIp: '10.70.0.5',
      protocol: 'tcp',
      srcPort: 999,
      dstPort: 80,
      oifname: 'wireguard.cali',
    },
    verdict: 'deny',
    decidedBy: ['rule', 'security', 'gnp/security.first', 0, 'deny'],
  },
  {
    rule: 'IPv6 pod db: ingress tier default names a missing policy; after np passes nothing, it fails closed',
    flow: { srcIp: 'fd00:9::1', dstIp: 'fd00:65::3', protocol: 'tcp', srcPort: 999, dstPort: 80 },
    verdict: 'deny',
    decidedBy: ['missing-policy', 'default', 'knp/ns1/not-there', -1, 'deny'],
  },
  {
    rule: 'IPv6 pod db: a source in the s:a set is allowed by knp.ns1.web before the missing policy',
    flow: {
      srcIp: 'fd00:65::3',
      dstIp: 'fd00:65::3',
      protocol: 'tcp',
      srcPort: 999,
      dstPort: 80,
      iifname: 'eth0',
    },
    verdict: 'allow',
    decidedBy: ['rule', 'default', 'knp/ns1/knp.ns1.web', 0, 'allow'],
  },
];

function summary(c: Case, state = overviewState()) {
  const e = explainFlow(state, c.flow);
  const d = e.decidedBy;
  return {
    verdict: e.verdict,
    decidedBy: d === null ? null : [d.kind, d.tier, d.policy, d.ruleIndex, d.action],
    endpoints: e.endpoints.map((s) => `${s.workloadId} ${s.direction} ${s.verdict}`),
  };
}

describe('explainFlow evaluates the rendered program', () => {
  it.each(overview)('overview: $rule', (c) => {
    const got = summary(c);
    expect({ verdict: got.verdict, decidedBy: got.decidedBy }).toEqual({
      verdict: c.verdict,
      decidedBy: c.decidedBy,
    });
    if (c.endpoints !== undefined) expect(got.endpoints).toEqual(c.endpoints);
  });

  const richS = richState();
  it.each(rich)('rich: $rule', (c) => {
    const got = summary(c, richS);
    expect({ verdict: got.verdict, decidedBy: got.decidedBy }).toEqual({
      verdict: c.verdict,
      decidedBy: c.decidedBy,
    });
  });

  it('AllowVXLANPacketsFromWorkloads lets VXLAN on to the egress policy', () => {
    const s = overviewState();
    const allowed = {
      ...s,
      config: { ...s.config, workloadEncap: { allowVxlan: true, allowIpip: false, vxlanPort: 4789 } },
    };
    const flow = { srcIp: BACKEND, dstIp: '203.0.113.9', protocol: 'udp', srcPort: 5000, dstPort: 4789 };
    expect(explainFlow(allowed, flow).verdict).toBe('allow');
    expect(explainFlow(allowed, { ...flow, protocol: 4 }).verdict).toBe('deny');
  });

  it('traces the rules that held, naming chain and rule text', () => {
    const e = explainFlow(overviewState(), {
      srcIp: FRONTEND,
      dstIp: BACKEND,
      protocol: 'tcp',
      srcPort: 1,
      dstPort: 80,
    });
    expect(e.hook).toBe('forward');
    expect(e.iifname).toBe('cali0123456789a');
    expect(e.oifname).toBe('calib0b0b0b0b0b');
    expect(e.trace).toContain(`pi-${ALLOW_FRONTEND}: ${e.decidedBy?.rule ?? ''}`);
    expect(e.decidedBy?.rule).toMatch(/th dport 80 counter goto mark-accept/);
  });

  it('bad queries are denied with a reason, never thrown', () => {
    expect(explainFlow(overviewState(), { srcIp: 'x', dstIp: BACKEND, protocol: 'tcp' }).error).toBe(
      'bad address: x',
    );
    expect(explainFlow(overviewState(), { srcIp: FRONTEND, dstIp: BACKEND, protocol: 'gre' }).error).toBe(
      'unknown protocol gre',
    );
    expect(explainFlow(overviewState(), { srcIp: FRONTEND, dstIp: 'fd00::1', protocol: 6 }).verdict).toBe(
      'deny',
    );
  });
});
