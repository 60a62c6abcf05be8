import { describe, expect, it } from 'vitest';
import type { Rule as RuleWire } from '../../proto/gen/felix/Rule.js';
import { DEFAULT_MARKS } from './model.js';
import type { IpSetType } from './model.js';
import { ipSetName } from './names.js';
import { renderRule } from './policy-rules.js';
import { ruleText } from './render-text.js';
import { decodeRule } from './rule-input.js';

const SETS: Record<string, IpSetType> = {
  's:a': 'NET',
  's:b': 'IP',
  's:empty': 'NET',
  'n:web': 'IP_AND_PORT',
};

function render(wire: RuleWire, index = 0): { lines: string[]; problems: string[] } {
  const problems: string[] = [];
  const rules = renderRule(decodeRule(wire), index, {
    marks: DEFAULT_MARKS,
    ipSetType: (id) => SETS[id],
    isEmptySet: (name) => name === ipSetName('s:empty', 4) || name === ipSetName('s:b', 6),
    owner: 'knp/ns/p',
    problems,
  });
  return { lines: rules.map(ruleText), problems };
}

const ACCEPT = 'counter goto mark-accept comment "#0 allow"';
const A4 = ipSetName('s:a', 4);
const A6 = ipSetName('s:a', 6);
const WEB4 = ipSetName('n:web', 4);
const WEB6 = ipSetName('n:web', 6);

interface Case {
  readonly rule: string;
  readonly wire: RuleWire;
  readonly lines: string[];
}

const cases: Case[] = [
  {
    rule: 'an empty allow rule matches everything, once, in both families',
    wire: { action: 'allow' },
    lines: [ACCEPT],
  },
  {
    rule: 'pass (and its v1 name next-tier) sets the pass mark and returns',
    wire: { action: 'next-tier' },
    lines: ['counter goto mark-pass comment "#0 pass"'],
  },
  {
    rule: 'deny logs at most 10 packets a second naming policy and rule, then drops with a counter',
    wire: { action: 'deny', protocol: { name: 'tcp' } },
    lines: [
      'meta l4proto 6 limit rate 10/second log prefix "alp-drop knp/ns/p #0 "',
      'meta l4proto 6 counter drop comment "#0 deny"',
    ],
  },
  {
    rule: 'log logs and carries on with the next rule',
    wire: { action: 'Log' },
    lines: ['counter log prefix "alp-log knp/ns/p #0 " comment "#0 log"'],
  },
  {
    rule: 'an unknown action drops what reaches it (Felix refuses such a rule; we fail closed)',
    wire: { action: 'jump' },
    lines: ['counter drop comment "#0 invalid"'],
  },
  {
    rule: 'protocol by number or name, not_protocol negated',
    wire: { action: 'allow', protocol: { number: 132 }, not_protocol: { name: 'udp' } },
    lines: [`meta l4proto 132 meta l4proto != 17 ${ACCEPT}`],
  },
  {
    rule: 'an unknown protocol name never matches: no rule',
    wire: { action: 'allow', protocol: { name: 'gre' } },
    lines: [],
  },
  {
    rule: 'ip_version alone restricts the family',
    wire: { action: 'allow', ip_version: 'IPV6' },
    lines: [`meta nfproto ipv6 ${ACCEPT}`],
  },
  {
    rule: 'ports and ranges become one anonymous set, merged where they overlap',
    wire: {
      action: 'allow',
      protocol: { name: 'tcp' },
      dst_ports: [
        { first: 80, last: 80 },
        { first: 8000, last: 8100 },
        { first: 8050, last: 8200 },
      ],
      not_src_ports: [{ first: 0, last: 1023 }],
    },
    lines: [`meta l4proto 6 th sport != 0-1023 th dport { 80, 8000-8200 } ${ACCEPT}`],
  },
  {
    rule: 'SCTP ports match SCTP (132) only',
    wire: { action: 'allow', protocol: { name: 'sctp' }, dst_ports: [{ first: 9000, last: 9010 }] },
    lines: [`meta l4proto 132 th dport 9000-9010 ${ACCEPT}`],
  },
  {
    rule: 'ports without a protocol only match protocols that have ports',
    wire: { action: 'allow', dst_ports: [{ first: 53, last: 53 }] },
    lines: [`meta l4proto { 6, 17, 132, 136 } th dport 53 ${ACCEPT}`],
  },
  {
    rule: 'nets split by family, collapsed, each family rendered with its own list',
    wire: {
      action: 'allow',
      src_net: ['10.1.0.0/16', '10.1.2.0/24', '10.2.0.5', 'fd00::/64'],
      not_dst_net: ['10.9.0.0/16', 'fd00:9::/64'],
    },
    lines: [
      `meta nfproto ipv4 ip saddr { 10.1.0.0/16, 10.2.0.5 } ip daddr != 10.9.0.0/16 ${ACCEPT}`,
      `meta nfproto ipv6 ip6 saddr fd00::/64 ip6 daddr != fd00:9::/64 ${ACCEPT}`,
    ],
  },
  {
    rule: "a family whose CIDR list would be emptied by filtering is not rendered (Felix's FilterRuleToIPVersion)",
    wire: { action: 'allow', dst_net: ['10.0.0.0/8'] },
    lines: [`meta nfproto ipv4 ip daddr 10.0.0.0/8 ${ACCEPT}`],
  },
  {
    rule: 'a negated catch-all drops the rule for that family (Felix)',
    wire: { action: 'allow', not_src_net: ['0.0.0.0/0', '::/0'] },
    lines: [],
  },
  {
    rule: 'IP sets are ANDed, negated ones too, one nft set per family',
    wire: { action: 'allow', src_ip_set_ids: ['s:a'], not_dst_ip_set_ids: ['s:b'] },
    lines: [
      `meta nfproto ipv4 ip saddr @${A4} ip daddr != @${ipSetName('s:b', 4)} ${ACCEPT}`,
      `meta nfproto ipv6 ip6 saddr @${A6} ip6 daddr != @${ipSetName('s:b', 6)} ${ACCEPT}`,
    ],
  },
  {
    rule: 'a positive match on a family-empty set cannot hold: only the other family is rendered',
    wire: { action: 'allow', src_ip_set_ids: ['s:empty'] },
    lines: [`meta nfproto ipv6 ip6 saddr @${ipSetName('s:empty', 6)} ${ACCEPT}`],
  },
  {
    rule: 'a negated match on an empty set always holds: kept',
    wire: { action: 'allow', ip_version: 4, not_src_ip_set_ids: ['s:empty'] },
    lines: [`meta nfproto ipv4 ip saddr != @${ipSetName('s:empty', 4)} ${ACCEPT}`],
  },
  {
    rule: 'numeric and named destination ports are alternatives: one nft rule each',
    wire: {
      action: 'allow',
      protocol: { name: 'tcp' },
      dst_ports: [{ first: 80, last: 80 }],
      dst_named_port_ip_set_ids: ['n:web'],
    },
    lines: [
      `meta nfproto ipv4 meta l4proto 6 th dport 80 ${ACCEPT}`,
      `meta nfproto ipv4 meta l4proto 6 ip daddr . meta l4proto . th dport @${WEB4} ${ACCEPT}`,
      `meta nfproto ipv6 meta l4proto 6 th dport 80 ${ACCEPT}`,
      `meta nfproto ipv6 meta l4proto 6 ip6 daddr . meta l4proto . th dport @${WEB6} ${ACCEPT}`,
    ],
  },
  {
    rule: 'negated named ports and service (dst IP and port) sets are plain ANDed matches',
    wire: {
      action: 'allow',
      ip_version: 4,
      not_src_named_port_ip_set_ids: ['n:web'],
      dst_ip_port_set_ids: ['n:web'],
    },
    lines: [
      `meta nfproto ipv4 ip daddr . meta l4proto . th dport @${WEB4} ip saddr . meta l4proto . th sport != @${WEB4} ${ACCEPT}`,
    ],
  },
  {
    rule: 'ICMP type and code; ICMP is IPv4 only',
    wire: { action: 'allow', protocol: { name: 'icmp' }, icmp_type_code: { type: 8, code: 0 } },
    lines: [`meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0 ${ACCEPT}`],
  },
  {
    rule: 'not (type and code) is two alternatives: another type, or that type with another code',
    wire: { action: 'allow', protocol: { name: 'icmpv6' }, not_icmp_type_code: { type: 1, code: 4 } },
    lines: [
      `meta nfproto ipv6 meta l4proto 58 icmpv6 type != 1 ${ACCEPT}`,
      `meta nfproto ipv6 meta l4proto 58 icmpv6 type 1 icmpv6 code != 4 ${ACCEPT}`,
    ],
  },
  {
    rule: 'an ICMP type without a protocol is rendered per family with that family ICMP header',
    wire: { action: 'allow', icmp_type: 3 },
    lines: [`meta nfproto ipv4 icmp type 3 ${ACCEPT}`, `meta nfproto ipv6 icmpv6 type 3 ${ACCEPT}`],
  },
  {
    rule: "an HTTP clause is ignored at L4, as by Felix's renderer",
    wire: {
      action: 'allow',
      protocol: { name: 'tcp' },
      http_match: { methods: ['GET'], paths: [{ exact: '/x' }] },
    },
    lines: [`meta l4proto 6 ${ACCEPT}`],
  },
  {
    rule: 'service-account matches travel with IP sets already; the match itself renders nothing',
    wire: { action: 'allow', src_ip_set_ids: ['s:a'], src_service_account_match: { names: ['sa1'] } },
    lines: [`meta nfproto ipv4 ip saddr @${A4} ${ACCEPT}`, `meta nfproto ipv6 ip6 saddr @${A6} ${ACCEPT}`],
  },
  {
    rule: 'a rule referencing a missing IP set drops whatever reaches it (fail closed)',
    wire: { action: 'allow', src_ip_set_ids: ['s:gone'] },
    lines: ['counter drop comment "#0 missing-ip-set"'],
  },
  {
    rule: 'a named-port reference to a NET set is a wrong type: fail closed',
    wire: { action: 'allow', dst_named_port_ip_set_ids: ['s:a'] },
    lines: ['counter drop comment "#0 missing-ip-set"'],
  },
];

describe('renderRule: one felix.Rule → nft rules', () => {
  it.each(cases)('$rule', ({ wire, lines }) => {
    expect(render(wire).lines).toEqual(lines);
  });

  it('decoded messages (with oneof discriminators) render like input objects', () => {
    const decodedShape = {
      action: 'allow',
      protocol: { number_or_name: 'name', name: 'icmp' },
      icmp: 'icmp_type_code',
      icmp_type_code: { type: 8, code: 0 },
    } as unknown as RuleWire;
    expect(render(decodedShape).lines).toEqual(
      render({ action: 'allow', protocol: { name: 'icmp' }, icmp_type_code: { type: 8, code: 0 } }).lines,
    );
  });

  it('reports fail-closed rules as problems naming the owner and the rule', () => {
    expect(render({ action: 'allow', src_ip_set_ids: ['s:gone'] }, 3).problems).toEqual([
      'knp/ns/p rule 3: IP set s:gone is missing, dropping what reaches the rule',
    ]);
  });
});
