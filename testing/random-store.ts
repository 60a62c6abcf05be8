// Random PolicySync snapshots and Check requests for property tests. Values come from small pools,
// so rules match often and every clause, difference and error path gets exercised.
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { PolicyID } from '../proto/gen/felix/PolicyID.js';
import type { Rule } from '../proto/gen/felix/Rule.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';
import type { SeededRandom } from './seeded-random.js';
import {
  endpoint,
  ipSet,
  namespace,
  policy,
  profile,
  request,
  serviceAccount,
  spiffe,
  tier,
} from './wire-builders.js';

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.1.5', '192.0.2.10', 'fd00::1', 'fd00::80', '::ffff:10.0.0.2'];
const CIDRS = [
  '10.0.0.0/24',
  '10.0.0.0/31',
  '10.0.0.2/32',
  '10.0.0.0/8',
  '0.0.0.0/0',
  'fd00::/120',
  'fd00::/127',
  '192.0.2.0/25',
  '10.0.1.4/30',
];
const PORTS = [80, 443, 8080, 45000];
const SET_IDS = ['s:0', 's:1', 's:2', 's:3', 's:4', 's:5'];
const NAMESPACES = ['default', 'prod', 'dev'];
const ACCOUNTS = ['sam', 'ian', 'bob'];
const SELECTORS = [
  '',
  'all()',
  "team == 'a'",
  'has(env)',
  "env in {'prod','dev'}",
  '!has(team)',
  'bad selector ((',
  "place == 'src'",
];
const METHODS = ['GET', 'POST', 'HEAD', 'get', '*'];
const PATHS = [
  '/',
  '/foo',
  '/foo/bar',
  '/public',
  '/public/../admin',
  '/a%2Fb',
  '/pub',
  '/x?y',
  'foo',
  '',
  '/%zz',
];
const ACTIONS = ['allow', 'allow', 'deny', 'pass', 'next-tier', 'log', 'Allow', 'DENY', 'bogus'];

function some<T>(r: SeededRandom, items: readonly T[], p: number, max = 3): T[] {
  const out: T[] = [];
  for (const item of items) if (out.length < max && r.next() < p) out.push(item);
  return out;
}

const maybe = (r: SeededRandom, p: number): boolean => r.next() < p;

function ports(r: SeededRandom): { first: number; last: number }[] {
  return some(r, PORTS, 0.15).map((p) =>
    maybe(r, 0.3) ? { first: p - 10, last: p + 10 } : { first: p, last: p },
  );
}

function protocol(r: SeededRandom): Rule['protocol'] {
  return r.pick([
    { name: 'TCP' },
    { name: 'udp' },
    { number: 6 },
    { number: 17 },
    { number: 1 },
    { name: 'protoX' },
    {},
  ]);
}

function randomRule(r: SeededRandom): Rule {
  const rule: Rule = { action: r.pick(ACTIONS) };
  if (maybe(r, 0.15)) rule.protocol = protocol(r);
  if (maybe(r, 0.1)) rule.not_protocol = protocol(r);
  if (maybe(r, 0.25)) rule.dst_ports = ports(r);
  if (maybe(r, 0.1)) rule.src_ports = ports(r);
  if (maybe(r, 0.1)) rule.not_dst_ports = ports(r);
  if (maybe(r, 0.05)) rule.not_src_ports = ports(r);
  if (maybe(r, 0.15)) rule.src_net = some(r, [...CIDRS, 'bad'], 0.2);
  if (maybe(r, 0.1)) rule.dst_net = some(r, CIDRS, 0.2);
  if (maybe(r, 0.1)) rule.not_src_net = some(r, [...CIDRS, 'bad'], 0.15);
  if (maybe(r, 0.05)) rule.not_dst_net = some(r, CIDRS, 0.15);
  if (maybe(r, 0.15)) rule.src_ip_set_ids = some(r, SET_IDS, 0.25, 2);
  if (maybe(r, 0.1)) rule.not_src_ip_set_ids = some(r, SET_IDS, 0.2, 2);
  if (maybe(r, 0.1)) rule.dst_ip_set_ids = some(r, SET_IDS, 0.25, 2);
  if (maybe(r, 0.05)) rule.not_dst_ip_set_ids = some(r, SET_IDS, 0.2, 2);
  if (maybe(r, 0.1)) rule.dst_ip_port_set_ids = some(r, SET_IDS, 0.25, 1);
  if (maybe(r, 0.08)) rule.dst_named_port_ip_set_ids = some(r, SET_IDS, 0.25, 1);
  if (maybe(r, 0.05)) rule.src_named_port_ip_set_ids = some(r, SET_IDS, 0.25, 1);
  if (maybe(r, 0.05)) rule.not_dst_named_port_ip_set_ids = some(r, SET_IDS, 0.25, 1);
  if (maybe(r, 0.15))
    rule.src_service_account_match = { names: some(r, ACCOUNTS, 0.4), selector: r.pick(SELECTORS) };
  if (maybe(r, 0.1))
    rule.dst_service_account_match = { names: some(r, ACCOUNTS, 0.4), selector: r.pick(SELECTORS) };
  if (maybe(r, 0.1)) rule.original_src_namespace_selector = r.pick(SELECTORS);
  if (maybe(r, 0.05)) rule.original_dst_namespace_selector = r.pick(SELECTORS);
  if (maybe(r, 0.1)) rule.original_src_selector = 'has(app)';
  if (maybe(r, 0.05)) rule.original_not_dst_selector = 'has(app)';
  if (maybe(r, 0.25)) {
    rule.http_match = {
      methods: some(r, METHODS, 0.3),
      paths: maybe(r, 0.6)
        ? []
        : some(r, PATHS, 0.3).map((p) => (maybe(r, 0.5) ? { exact: p } : maybe(r, 0.9) ? { prefix: p } : {})),
    };
  }
  return rule;
}

function randomSet(r: SeededRandom, id: string): ToDataplane {
  const type = r.pick(['IP', 'NET', 'IP_AND_PORT'] as const);
  const members =
    type === 'IP'
      ? some(r, IPS, 0.4, 7)
      : type === 'NET'
        ? some(r, CIDRS, 0.3, 9)
        : some(r, IPS, 0.3).flatMap((ip) =>
            some(r, PORTS, 0.4).map((p) => `${ip},${r.pick(['tcp', 'udp'])}:${p}`),
          );
  return ipSet(id, members, type);
}

const KINDS = ['GlobalNetworkPolicy', 'NetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedNetworkPolicy'];

/** A snapshot: sets (a few missing), policies (a few missing), profiles, identities, endpoint. */
export function randomSnapshot(r: SeededRandom): ToDataplane[] {
  const messages: ToDataplane[] = [];
  for (const id of SET_IDS) if (maybe(r, 0.85)) messages.push(randomSet(r, id));
  for (const ns of NAMESPACES)
    if (maybe(r, 0.7))
      messages.push(namespace(ns, maybe(r, 0.5) ? { env: ns, place: 'src' } : { team: 'a' }));
  for (const ns of NAMESPACES)
    for (const sa of ACCOUNTS)
      if (maybe(r, 0.3)) messages.push(serviceAccount(ns, sa, maybe(r, 0.5) ? { team: 'a' } : { env: 'x' }));
  const tiers = [];
  let n = 0;
  for (let t = 0; t < 1 + r.int(3); t++) {
    const ids: PolicyID[] = [];
    for (let p = 0; p < 1 + r.int(3); p++, n++) {
      const kind = r.pick(KINDS);
      const ns = kind.includes('Global') ? '' : r.pick(NAMESPACES);
      const id: PolicyID = { name: `p${n}`, namespace: ns, kind };
      ids.push(id);
      if (maybe(r, 0.93))
        messages.push(
          policy(
            id,
            Array.from({ length: r.int(4) }, () => randomRule(r)),
            ns,
          ),
        );
    }
    tiers.push(tier(`tier${t}`, ids, r.pick(['Deny', 'Pass', 'pass', 'Deny', '', 'Allow'])));
  }
  const profiles = some(r, ['kns.default', 'ksa.default.sam', 'extra'], 0.5);
  for (const name of profiles)
    if (maybe(r, 0.8))
      messages.push(
        profile(
          name,
          Array.from({ length: r.int(3) }, () => randomRule(r)),
        ),
      );
  messages.push(endpoint(tiers, profiles));
  return messages;
}

function principal(r: SeededRandom): string {
  if (maybe(r, 0.35)) return '';
  if (maybe(r, 0.05)) return r.pick(['spiffe://malformed', 'sam', 'spiffe://td/ns//sa/x']);
  return spiffe(r.pick(NAMESPACES), r.pick(ACCOUNTS));
}

export function randomRequest(r: SeededRandom): CheckRequest {
  const peer = () =>
    maybe(r, 0.05) ? {} : { ip: r.pick([...IPS, 'not-an-ip']), port: r.pick(PORTS), principal: principal(r) };
  const req = request({
    src: peer(),
    dst: peer(),
    protocol: r.pick(['TCP', 'TCP', 'UDP'] as const),
    ...(maybe(r, 0.5) ? { http: { method: r.pick(['GET', 'POST', 'HEAD', '']), path: r.pick(PATHS) } } : {}),
  });
  if (maybe(r, 0.05) && req.attributes?.source) req.attributes.source.address = { pipe: { path: '/tmp/x' } };
  return req;
}
