// The fast path of policy-sync-wire.ts (IP sets, policies, profiles, and the small payloads of
// policy-sync-small-wire.ts) against @grpc/proto-loader
// on the same .proto: for generated messages and damaged or concatenated bytes, whatever the fast
// path returns equals proto-loader's decoding (and its rules equal ruleFromWire of proto-loader's),
// it returns null wherever proto-loader refuses, and it does take the plain messages.
import { describe, expect, it } from 'vitest';
import { loadFelix } from '../proto/load.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';
import type { WorkloadEndpoint } from '../proto/gen/felix/WorkloadEndpoint.js';
import { seededRandom, type SeededRandom } from '../testing/seeded-random.js';
import { parseIp } from '../calico/ip.js';
import { applyUpdate } from '../policy/apply-update.js';
import { StoreState } from '../policy/store-state.js';
import { ruleFromWire } from '../calico/rule-wire.js';
import type { Rule } from '../proto/gen/felix/Rule.js';
import type { Rule__Output } from '../proto/gen/felix/Rule.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import { inboundRulesOf } from '../policy/wire-rules.js';
import { SMALL_PAYLOADS } from './policy-sync-small-wire.js';
import { decodeSyncMessage } from './policy-sync-wire.js';

const sync = () => loadFelix().felix.PolicySync.service.Sync;
const slow = (buf: Buffer): ToDataplane__Output => sync().responseDeserialize(buf);
const decodeFast = (buf: Buffer): ToDataplane__Output | null => decodeSyncMessage(buf, slow);

function viaProtoLoader(bytes: Buffer): unknown {
  try {
    return JSON.parse(JSON.stringify(sync().responseDeserialize(bytes))) as unknown;
  } catch {
    return 'refused';
  }
}

const MEMBERS = ['10.0.0.0/8', '192.0.2.1/32', '2001:db8::/48', '', 'é', 'x'.repeat(200), '10.1.2.3,tcp:80'];

function pick<T>(rnd: SeededRandom, xs: readonly T[]): T {
  return xs[rnd.int(xs.length)]!;
}

function members(rnd: SeededRandom): string[] {
  return Array.from({ length: rnd.int(6) }, () => pick(rnd, MEMBERS));
}

function generated(rnd: SeededRandom): ToDataplane {
  const seq = rnd.int(3) === 0 ? {} : { sequence_number: rnd.int(3) === 0 ? 2 ** 40 + 3 : rnd.int(1000) };
  switch (rnd.int(5)) {
    case 0:
    case 1:
      return {
        ...seq,
        ipset_update: {
          id: pick(rnd, ['', 's:1', 'é']),
          members: members(rnd),
          type: pick(rnd, ['IP', 'IP_AND_PORT', 'NET'] as const),
        },
      };
    case 2:
      return {
        ...seq,
        ipset_delta_update: { id: 's:2', added_members: members(rnd), removed_members: members(rnd) },
      };
    case 3:
      return { ...seq, ipset_remove: { id: 's:3' } };
    default:
      return { ...seq, in_sync: {} };
  }
}

function damaged(rnd: SeededRandom, bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  switch (rnd.int(3)) {
    case 0:
      return out.subarray(0, rnd.int(out.length + 1));
    case 1:
      if (out.length > 0) out[rnd.int(out.length)] = rnd.int(256);
      return out;
    default:
      return Buffer.concat([out, Buffer.from([rnd.int(256), rnd.int(256), rnd.int(256)])]);
  }
}

/**
 * The i-th input of a generated-message test, in turn: a message as sent, damaged, followed by a
 * second one (protobuf merges them), or the test's own special case.
 */
function fuzzInput(
  i: number,
  rnd: SeededRandom,
  generate: (rnd: SeededRandom) => ToDataplane,
  special: (rnd: SeededRandom) => Buffer,
): Buffer {
  const bytes = sync().responseSerialize(generate(rnd));
  switch (i % 4) {
    case 0:
      return bytes;
    case 1:
      return damaged(rnd, bytes);
    case 2:
      return Buffer.concat([bytes, sync().responseSerialize(generate(rnd))]);
    default:
      return special(rnd);
  }
}

describe('decodeSyncMessage on IP-set messages', () => {
  it('takes plain IP-set updates and deltas, and gives what proto-loader gives', () => {
    const update = sync().responseSerialize({
      sequence_number: 7,
      ipset_update: { id: 's:a', members: ['10.0.0.0/8', '2001:db8::/32'], type: 'NET' },
    });
    const fast = decodeFast(update);
    expect(fast).not.toBeNull();
    expect(JSON.parse(JSON.stringify(fast))).toEqual(viaProtoLoader(update));
    const delta = sync().responseSerialize({
      ipset_delta_update: { id: 's:a', added_members: ['10.1.0.0/16'], removed_members: ['10.0.0.0/8'] },
    });
    expect(JSON.parse(JSON.stringify(decodeFast(delta)))).toEqual(viaProtoLoader(delta));
  });

  it('leaves two payloads, undeclared enum values and long varints to proto-loader', () => {
    const twoPayloads = Buffer.concat([
      sync().responseSerialize({ in_sync: {} }),
      sync().responseSerialize({ ipset_remove: { id: 'x' } }),
    ]);
    expect(viaProtoLoader(twoPayloads)).not.toBe('refused');
    expect(decodeFast(twoPayloads)).toBeNull();
    // IPSetUpdate{type = 5}: a number proto-loader passes through.
    expect(decodeFast(Buffer.from([0x12, 0x02, 0x18, 0x05]))).toBeNull();
    // sequence_number = 2^63 - 1 needs ten varint bytes.
    const big = Buffer.from([0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x12, 0x00]);
    expect(decodeFast(big)).toBeNull();
    expect(decodeFast(Buffer.alloc(0))).toBeNull();
  });

  it('on 20,000 generated and damaged messages: equal to proto-loader whenever it answers', () => {
    const rnd = seededRandom(12);
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = sync().responseSerialize(generated(rnd));
      const input = i % 2 === 0 ? bytes : damaged(rnd, bytes);
      const fast = decodeFast(input);
      if (fast === null) continue;
      taken++;
      expect(JSON.parse(JSON.stringify(fast)), `message ${i}: ${input.toString('hex')}`).toEqual(
        viaProtoLoader(input),
      );
    }
    expect(taken).toBeGreaterThan(5_000);
  });
});

describe('a store fed by decodeSyncMessage', () => {
  it('holds the same sets, members and warnings as one fed by proto-loader', () => {
    const rnd = seededRandom(5);
    const odd = ['2001:db8::/48', '::ffff:10.0.0.0/104', '010.0.0.1/32', 'not-a-cidr', 'é/8', '10.0.0.1', ''];
    const member = () =>
      rnd.int(4) === 0
        ? pick(rnd, odd)
        : `10.${rnd.int(4)}.${rnd.int(256)}.${rnd.int(256)}/${24 + rnd.int(9)}`;
    const messages: ToDataplane[] = [];
    for (let i = 0; i < 60; i++) {
      const type = pick(rnd, ['NET', 'NET', 'IP', 'IP_AND_PORT'] as const);
      const members = Array.from({ length: rnd.int(40) }, () =>
        type === 'IP_AND_PORT' ? '10.0.0.1,tcp:80' : member(),
      );
      messages.push({ ipset_update: { id: `s:${i}`, type, members } });
      messages.push({
        ipset_delta_update: {
          id: `s:${i}`,
          added_members: [member(), member()],
          removed_members: [member()],
        },
      });
    }
    const viaProto = new StoreState();
    const viaWire = new StoreState();
    for (const msg of messages) {
      const bytes = sync().responseSerialize(msg);
      const fast = decodeFast(bytes);
      expect(fast).not.toBeNull();
      expect(applyUpdate(viaWire, fast!)).toEqual(applyUpdate(viaProto, sync().responseDeserialize(bytes)));
    }
    const probes = ['10.0.0.1', '10.1.2.3', '10.3.255.254', '192.0.2.1', '2001:db8::1'].map((t) =>
      parseIp(t)!,
    );
    for (let i = 0; i < 60; i++) {
      const a = viaProto.ipSets.get(`s:${i}`)!;
      const b = viaWire.ipSets.get(`s:${i}`)!;
      expect(b.size).toBe(a.size);
      for (const ip of probes) expect(b.containsIp(ip)).toBe(a.containsIp(ip));
    }
  });
});

const TEXTS = ['', 'a', 'é', 's:set-1', 'has(app)', '10.0.0.0/8', 'x'.repeat(150)];

function texts(rnd: SeededRandom): string[] {
  return Array.from({ length: rnd.int(3) }, () => pick(rnd, TEXTS));
}

/** An int32 as protobufjs takes it: small, large, or negative (which it writes as ten bytes). */
function int32(rnd: SeededRandom): number {
  return rnd.int(20) === 0 ? -1 : pick(rnd, [0, 1, 80, 65535, 2 ** 31 - 1, rnd.int(70_000)]);
}

/** A felix.Rule with a random subset of its fields, including the oneofs and nested messages. */
function generatedRule(rnd: SeededRandom): Rule {
  const rule: Rule = {};
  const some = (): boolean => rnd.int(4) === 0;
  if (rnd.int(4) !== 0)
    rule.action = pick(rnd, ['allow', 'deny', 'pass', 'next-tier', 'log', 'Allow', 'odd']);
  if (some()) rule.ip_version = pick(rnd, ['ANY', 'IPV4', 'IPV6'] as const);
  const protocol = () =>
    pick(rnd, [{ name: pick(rnd, ['TCP', 'udp', '', 'é']) }, { number: int32(rnd) }, {}]);
  if (some()) rule.protocol = protocol();
  if (some()) rule.not_protocol = protocol();
  const ports = () =>
    Array.from({ length: 1 + rnd.int(3) }, () => (some() ? {} : { first: int32(rnd), last: int32(rnd) }));
  for (const key of ['src_ports', 'not_src_ports', 'dst_ports', 'not_dst_ports'] as const)
    if (some()) rule[key] = ports();
  for (const key of [
    'src_net',
    'src_named_port_ip_set_ids',
    'src_ip_set_ids',
    'not_src_net',
    'not_src_ip_set_ids',
    'not_src_named_port_ip_set_ids',
    'dst_net',
    'dst_named_port_ip_set_ids',
    'dst_ip_set_ids',
    'dst_ip_port_set_ids',
    'not_dst_net',
    'not_dst_ip_set_ids',
    'not_dst_named_port_ip_set_ids',
  ] as const)
    if (some()) rule[key] = texts(rnd);
  if (some()) {
    if (rnd.int(2) === 0) rule.icmp_type = int32(rnd);
    else rule.icmp_type_code = { type: int32(rnd), code: int32(rnd) };
  }
  if (some()) {
    if (rnd.int(2) === 0) rule.not_icmp_type = int32(rnd);
    else rule.not_icmp_type_code = some() ? {} : { type: int32(rnd), code: int32(rnd) };
  }
  for (const key of [
    'original_src_selector',
    'original_dst_selector',
    'original_src_namespace_selector',
    'original_dst_namespace_selector',
    'original_not_src_selector',
    'original_not_dst_selector',
    'original_src_service',
    'original_src_service_namespace',
    'original_dst_service',
    'original_dst_service_namespace',
    'rule_id',
  ] as const)
    if (some()) rule[key] = pick(rnd, TEXTS);
  if (some()) rule.src_service_account_match = { selector: pick(rnd, TEXTS), names: texts(rnd) };
  if (some()) rule.dst_service_account_match = some() ? {} : { names: texts(rnd) };
  if (some())
    rule.http_match = {
      methods: texts(rnd),
      paths: Array.from({ length: rnd.int(3) }, () =>
        pick(rnd, [{ exact: pick(rnd, TEXTS) }, { prefix: pick(rnd, TEXTS) }, {}]),
      ),
    };
  if (rnd.int(40) === 0) rule.metadata = { annotations: { a: 'b' } };
  return rule;
}

function generatedPolicyMessage(rnd: SeededRandom): ToDataplane {
  const seq = rnd.int(3) === 0 ? {} : { sequence_number: rnd.int(1000) };
  const rules = () => Array.from({ length: rnd.int(4) }, () => generatedRule(rnd));
  if (rnd.int(3) === 0) {
    return {
      ...seq,
      active_profile_update: {
        ...(rnd.int(6) === 0 ? {} : { id: { name: pick(rnd, TEXTS) } }),
        ...(rnd.int(6) === 0 ? {} : { profile: { inbound_rules: rules(), outbound_rules: rules() } }),
      },
    };
  }
  return {
    ...seq,
    active_policy_update: {
      ...(rnd.int(6) === 0
        ? {}
        : { id: { name: pick(rnd, TEXTS), namespace: pick(rnd, TEXTS), kind: pick(rnd, TEXTS) } }),
      ...(rnd.int(6) === 0
        ? {}
        : {
            policy: {
              inbound_rules: rules(),
              outbound_rules: rules(),
              untracked: rnd.int(2) === 0,
              pre_dnat: rnd.int(2) === 0,
              namespace: pick(rnd, TEXTS),
              original_selector: pick(rnd, TEXTS),
              tier: pick(rnd, TEXTS),
            },
          }),
    },
  };
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

/** A length-delimited field: tag byte, length, content. */
function delimitedField(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag, ...varintBytes(content.length)]), content]);
}

/** The bytes of one felix.Rule: a policy update holding only `rule`, unwrapped three times. */
function ruleBytes(rule: Rule): Buffer {
  let b = sync().responseSerialize({ active_policy_update: { policy: { inbound_rules: [rule] } } });
  for (let depth = 0; depth < 3; depth++) b = firstFieldContent(b);
  return b;
}

/** A policy update whose one rule is two rules' bytes end to end (so its fields come twice). */
function mergedRulesMessage(rnd: SeededRandom): Buffer {
  const rule = Buffer.concat([ruleBytes(generatedRule(rnd)), ruleBytes(generatedRule(rnd))]);
  return delimitedField(0x3a, delimitedField(0x12, delimitedField(0x0a, rule)));
}

/** proto-loader's inbound rules of a policy or profile message, through ruleFromWire. */
function protoLoaderInboundRules(msg: ToDataplane__Output): unknown {
  const body = msg.active_policy_update?.policy ?? msg.active_profile_update?.profile;
  return body == null ? null : body.inbound_rules.map((r: Rule__Output) => ruleFromWire(r));
}

function fastInboundRules(msg: ToDataplane__Output): unknown {
  const body = msg.active_policy_update?.policy ?? msg.active_profile_update?.profile;
  return body == null ? null : inboundRulesOf(body);
}

describe('decodeSyncMessage on policy and profile updates', () => {
  it('takes a plain policy update: its rules equal ruleFromWire of proto-loader’s', () => {
    const bytes = sync().responseSerialize({
      active_policy_update: {
        id: { name: 'p', kind: 'GlobalNetworkPolicy' },
        policy: {
          tier: 't',
          inbound_rules: [
            { action: 'pass', dst_ports: [{ first: 65001, last: 65001 }], src_ip_set_ids: ['s:1'] },
            { action: 'allow', protocol: { name: 'TCP' }, src_net: ['203.0.113.7/32'] },
          ],
        },
      },
    });
    const fast = decodeFast(bytes);
    expect(fast).not.toBeNull();
    const rules = fastInboundRules(fast!) as Rule[];
    expect(rules).toHaveLength(2);
    expect(rules).toEqual(protoLoaderInboundRules(slow(bytes)));
    expect(JSON.parse(JSON.stringify(fast))).toEqual(viaProtoLoader(bytes));
  });

  it('leaves rule metadata, unknown fields and both members of a oneof to proto-loader', () => {
    const withMetadata = sync().responseSerialize({
      active_policy_update: { policy: { inbound_rules: [{ metadata: { annotations: { a: 'b' } } }] } },
    });
    expect(decodeFast(withMetadata)).toBeNull();
    // A Rule holding field 99 (varint 1): ActivePolicyUpdate{policy{inbound_rules{...}}}.
    const unknownField = Buffer.from([0x3a, 0x07, 0x12, 0x05, 0x0a, 0x03, 0x98, 0x06, 0x01]);
    expect(slow(unknownField).active_policy_update?.policy?.inbound_rules).toHaveLength(1);
    expect(decodeFast(unknownField)).toBeNull();
    // Protocol{number = 6, name = "x"}.
    const bothMembers = Buffer.from([
      0x3a, 0x0b, 0x12, 0x09, 0x0a, 0x07, 0x1a, 0x05, 0x08, 0x06, 0x12, 0x01, 0x78,
    ]);
    expect(slow(bothMembers).active_policy_update?.policy?.inbound_rules).toHaveLength(1);
    expect(decodeFast(bothMembers)).toBeNull();
  });

  it('on 5,000 generated, damaged, concatenated and merged messages: equal to proto-loader whenever it answers', () => {
    const rnd = seededRandom(7);
    let taken = 0;
    let withRules = 0;
    for (let i = 0; i < 5_000; i++) {
      const input = fuzzInput(i, rnd, generatedPolicyMessage, mergedRulesMessage);
      const fast = decodeFast(input);
      if (fast === null) continue;
      taken++;
      const expected = sync().responseDeserialize(input); // throws if proto-loader refuses: a failure
      const rules = fastInboundRules(fast);
      if (Array.isArray(rules) && rules.length > 0) withRules++;
      expect(rules, `message ${i}: ${input.toString('hex')}`).toEqual(protoLoaderInboundRules(expected));
      expect(JSON.parse(JSON.stringify(fast)), `message ${i}: ${input.toString('hex')}`).toEqual(
        viaProtoLoader(input),
      );
    }
    expect(taken).toBeGreaterThan(1_200);
    expect(withRules).toBeGreaterThan(600);
  });
});

const KEYS = [
  '',
  'a',
  'b',
  'é',
  '1',
  '10',
  'app.kubernetes.io/name',
  'constructor',
  'toString',
  'x'.repeat(150),
];

function labels(rnd: SeededRandom): Record<string, string> {
  const out: Record<string, string> = {};
  for (let n = rnd.int(5); n > 0; n--) out[pick(rnd, KEYS)] = pick(rnd, TEXTS);
  return out;
}

function policyIds(rnd: SeededRandom): { name?: string; namespace?: string; kind?: string }[] {
  return Array.from({ length: rnd.int(3) }, () =>
    rnd.int(5) === 0
      ? {}
      : { name: pick(rnd, TEXTS), namespace: pick(rnd, TEXTS), kind: pick(rnd, ['', 'NetworkPolicy', 'é']) },
  );
}

function generatedEndpoint(rnd: SeededRandom): WorkloadEndpoint {
  return {
    ...(rnd.int(3) === 0 ? {} : { state: pick(rnd, ['active', '', 'é']), name: pick(rnd, TEXTS) }),
    ...(rnd.int(2) === 0 ? {} : { mac: 'ee:ee:ee:ee:ee:ee' }),
    profile_ids: texts(rnd),
    ipv4_nets: rnd.int(2) === 0 ? [] : ['10.65.0.2/32'],
    ipv6_nets: texts(rnd),
    tiers: Array.from({ length: rnd.int(3) }, () => ({
      ...(rnd.int(4) === 0 ? {} : { name: pick(rnd, TEXTS) }),
      ingress_policies: policyIds(rnd),
      egress_policies: policyIds(rnd),
      ...(rnd.int(4) === 0 ? {} : { default_action: pick(rnd, ['Deny', 'Pass', '', 'é']) }),
    })),
    annotations: labels(rnd),
  };
}

/** A ToDataplane with one of the payloads policy-sync-small-wire.ts reads, fields at random. */
function generatedSmallMessage(rnd: SeededRandom): ToDataplane {
  const seq = rnd.int(3) === 0 ? {} : { sequence_number: rnd.int(1000) };
  const maybe = <T>(value: () => T): T | undefined => (rnd.int(5) === 0 ? undefined : value());
  const endpointId = () => ({
    orchestrator_id: pick(rnd, ['k8s', '', 'é']),
    workload_id: pick(rnd, TEXTS),
    endpoint_id: pick(rnd, ['eth0', '']),
  });
  const accountId = () => (rnd.int(4) === 0 ? {} : { namespace: pick(rnd, TEXTS), name: pick(rnd, TEXTS) });
  const policyId = () => ({ name: pick(rnd, TEXTS), namespace: pick(rnd, TEXTS), kind: pick(rnd, TEXTS) });
  switch (rnd.int(10)) {
    case 0:
      return { ...seq, in_sync: {} };
    case 1:
      return { ...seq, ipset_remove: rnd.int(4) === 0 ? {} : { id: pick(rnd, TEXTS) } };
    case 2:
      return { ...seq, active_profile_remove: { id: maybe(() => ({ name: pick(rnd, TEXTS) })) } };
    case 3:
      return { ...seq, active_policy_remove: { id: maybe(policyId) } };
    case 4:
      return { ...seq, workload_endpoint_remove: { id: maybe(endpointId) } };
    case 5:
      return { ...seq, service_account_update: { id: maybe(accountId), labels: labels(rnd) } };
    case 6:
      return { ...seq, service_account_remove: { id: maybe(accountId) } };
    case 7:
      return {
        ...seq,
        namespace_update: { id: maybe(() => ({ name: pick(rnd, TEXTS) })), labels: labels(rnd) },
      };
    case 8:
      return { ...seq, namespace_remove: { id: maybe(() => ({ name: pick(rnd, TEXTS) })) } };
    default:
      return {
        ...seq,
        workload_endpoint_update: { id: maybe(endpointId), endpoint: maybe(() => generatedEndpoint(rnd)) },
      };
  }
}

/** The content of a message's first field, whose tag is one byte (the payload, or its first field). */
function firstFieldContent(b: Buffer): Buffer {
  let pos = 1;
  let len = 0;
  for (let scale = 1; ; scale *= 128) {
    const x = b[pos++]!;
    len += (x & 0x7f) * scale;
    if (x < 0x80) break;
  }
  return b.subarray(pos, pos + len);
}

/** A field this subset of felixbackend.proto does not declare (Felix's has more), or a group. */
function unknownField(rnd: SeededRandom): Buffer {
  switch (rnd.int(6)) {
    case 0:
      return Buffer.from([0x40, ...varintBytes(rnd.int(2 ** 31))]); // field 8, varint
    case 1:
      return Buffer.from([0x49, 1, 2, 3, 4, 5, 6, 7, 8]); // field 9, fixed64
    case 2:
      return Buffer.from([0x55, 1, 2, 3, 4]); // field 10, fixed32
    case 3:
      return delimitedField(0x62, Buffer.from(pick(rnd, TEXTS))); // field 12, bytes
    case 4:
      return Buffer.from([0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]); // an 11-byte varint
    default:
      return Buffer.from([0x6b, 0x40, 0x01, 0x6c]); // field 13, a group
  }
}

/**
 * A workload endpoint update or a namespace update whose endpoint (or one label entry) carries
 * undeclared fields, as Felix's fuller messages do.
 */
function withUnknownFields(rnd: SeededRandom): Buffer {
  if (rnd.int(2) === 0) {
    const endpoint = generatedEndpoint(rnd);
    const bytes = sync().responseSerialize({ workload_endpoint_update: { endpoint } });
    const content = firstFieldContent(firstFieldContent(bytes));
    const extra = Array.from({ length: 1 + rnd.int(2) }, () => unknownField(rnd));
    const at = rnd.int(2) === 0 ? content.length : 0;
    const mixed = Buffer.concat([content.subarray(0, at), ...extra, content.subarray(at)]);
    return delimitedField(0x5a, delimitedField(0x2a, mixed));
  }
  const entry = Buffer.concat([
    delimitedField(0x0a, Buffer.from(pick(rnd, KEYS))),
    unknownField(rnd),
    delimitedField(0x12, Buffer.from(pick(rnd, TEXTS))),
  ]);
  return Buffer.concat([
    Buffer.from([0xaa, 0x01, ...varintBytes(entry.length + 2)]),
    delimitedField(0x12, entry),
  ]);
}

const SMALL = new Set([...SMALL_PAYLOADS.values()].map((p) => p.name));

/** The map fields' keys in order: toStrictEqual does not compare the order of keys. */
function mapKeyOrder(msg: ToDataplane__Output): string {
  return JSON.stringify([
    Object.keys(msg.workload_endpoint_update?.endpoint?.annotations ?? {}),
    Object.keys(msg.service_account_update?.labels ?? {}),
    Object.keys(msg.namespace_update?.labels ?? {}),
  ]);
}

describe('decodeSyncMessage on the small payloads', () => {
  it('takes each of them plainly sent, and gives exactly what proto-loader gives', () => {
    const messages: ToDataplane[] = [
      { in_sync: {} },
      { sequence_number: 3, ipset_remove: { id: 's:1' } },
      { active_profile_remove: { id: { name: 'kns.default' } } },
      { active_policy_remove: { id: { name: 'p', kind: 'GlobalNetworkPolicy' } } },
      { active_policy_remove: {} },
      {
        workload_endpoint_update: {
          id: { orchestrator_id: 'k8s', workload_id: 'default/pod', endpoint_id: 'eth0' },
          endpoint: {
            state: 'active',
            profile_ids: ['kns.default', 'ksa.default.default'],
            ipv4_nets: ['10.65.0.2/32'],
            tiers: [
              {
                name: 'default',
                ingress_policies: [{ name: 'default.p', namespace: 'default', kind: 'NetworkPolicy' }],
                default_action: 'Deny',
              },
            ],
            annotations: { b: '1', a: '2', '10': 'x', '1': 'y' },
          },
        },
      },
      { workload_endpoint_remove: { id: { workload_id: 'default/pod' } } },
      { service_account_update: { id: { namespace: 'default', name: 'sa' }, labels: { app: 'web' } } },
      { service_account_remove: { id: { namespace: 'default', name: 'sa' } } },
      { namespace_update: { id: { name: 'default' }, labels: {} } },
      { namespace_remove: { id: { name: 'default' } } },
    ];
    for (const m of messages) {
      const bytes = sync().responseSerialize(m);
      const fast = decodeFast(bytes);
      expect(fast, JSON.stringify(m)).not.toBeNull();
      expect(fast).toStrictEqual(slow(bytes));
      expect(mapKeyOrder(fast!)).toBe(mapKeyOrder(slow(bytes)));
    }
  });

  it('skips undeclared fields as protobufjs does, and leaves the unusual to proto-loader', () => {
    // Endpoint{state = "a", field 8 = varint 5, field 9 = fixed64, field 10 = fixed32, field 12 = "zz"}.
    const endpoint = Buffer.from([
      0x0a, 0x01, 0x61, 0x40, 0x05, 0x49, 1, 2, 3, 4, 5, 6, 7, 8, 0x55, 1, 2, 3, 4, 0x62, 0x02, 0x7a, 0x7a,
    ]);
    const unknown = delimitedField(0x5a, delimitedField(0x2a, endpoint));
    expect(decodeFast(unknown)).toStrictEqual(slow(unknown));
    expect(decodeFast(unknown)?.workload_endpoint_update?.endpoint?.state).toBe('a');
    // NamespaceUpdate{labels{"__proto__": "x"}}: protobufjs makes it an own property.
    const proto = sync().responseSerialize({ namespace_update: { labels: JSON.parse('{"__proto__":"x"}') } });
    expect(Object.keys(slow(proto).namespace_update!.labels)).toEqual(['__proto__']);
    expect(decodeFast(proto)).toBeNull();
    // NamespaceUpdate{id{name = "a"}, id{name = "b"}}: protobufjs keeps the last id.
    const twice = Buffer.from([0xaa, 0x01, 0x0a, 0x0a, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x03, 0x0a, 0x01, 0x62]);
    expect(slow(twice).namespace_update?.id?.name).toBe('b');
    expect(decodeFast(twice)).toBeNull();
    // IPSetRemove{id as varint 1}: protobufjs reads a string anyway.
    const wrongWireType = Buffer.from([0x22, 0x02, 0x08, 0x01]);
    expect(decodeFast(wrongWireType)).toBeNull();
    // InSync{a group}.
    expect(decodeFast(Buffer.from([0x0a, 0x02, 0x0b, 0x0c]))).toBeNull();
  });

  it('on 20,000 generated, damaged, concatenated and extended messages: equal to proto-loader whenever it answers', () => {
    const rnd = seededRandom(19);
    let taken = 0;
    const payloads = new Set<string>();
    let withUnknown = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = fuzzInput(i, rnd, generatedSmallMessage, withUnknownFields);
      const fast = decodeFast(input);
      if (fast === null) continue;
      const expected = slow(input); // throws if proto-loader refuses: a failure
      if (!SMALL.has(fast.payload!)) {
        // Damage made it another payload: compared as in the tests above.
        expect(JSON.parse(JSON.stringify(fast))).toEqual(viaProtoLoader(input));
        continue;
      }
      taken++;
      payloads.add(fast.payload!);
      if (i % 4 === 3) withUnknown++;
      expect(fast, `message ${i}: ${input.toString('hex')}`).toStrictEqual(expected);
      expect(mapKeyOrder(fast), `message ${i}: ${input.toString('hex')}`).toBe(mapKeyOrder(expected));
    }
    expect(taken).toBeGreaterThan(8_000);
    expect(withUnknown).toBeGreaterThan(1_000);
    expect(payloads.size).toBe(10);
  });
});
