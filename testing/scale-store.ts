// Calico's production-scale store (spec §6; app-policy/checker/bench_test.go), as the PolicySync
// messages Felix would stream: tier `perimeter` (default Deny) with 294 global policies × 68
// inbound rules, almost all `pass`, 10 `deny` and 1 `allow` at random; 24.2 % of rules reference
// one of 3,708 NET sets (~256k unique /32s in 10/8). Every rule is guarded by port 65001, which the
// flow never uses, so a Check walks all 19,992 rules and ends in the tier's default deny.
// Pure and deterministic: the same seed gives the same messages.
import type { CheckRequest } from '../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { Rule } from '../proto/gen/felix/Rule.js';
import type { ToDataplane } from '../proto/gen/felix/ToDataplane.js';
import { seededRandom } from './seeded-random.js';
import type { SeededRandom } from './seeded-random.js';

export interface ScaleStore {
  readonly messages: ToDataplane[];
  readonly request: CheckRequest;
  readonly expectedCode: 7;
}

/** A request against the benchmark's variant of the store, with the verdict it must get. */
export interface ScaleRequest {
  readonly name: string;
  readonly request: CheckRequest;
  readonly expectedCode: number;
}

export interface ScaleParams {
  readonly seed: number;
  readonly policies: number;
  readonly rulesPerPolicy: number;
  readonly denyRules: number;
  readonly allowRules: number;
  readonly ipSetRefFraction: number;
}

export const CALICO_SCALE: ScaleParams = {
  seed: 20200,
  policies: 294,
  rulesPerPolicy: 68,
  denyRules: 10,
  allowRules: 1,
  ipSetRefFraction: 0.242,
};

/** [number of sets, min size, max size]: Calico's anonymised histogram, 3,708 sets in all. */
const SET_SIZE_HISTOGRAM: ReadonlyArray<readonly [number, number, number]> = [
  [4, 0, 0],
  [3035, 1, 9],
  [446, 10, 99],
  [64, 100, 999],
  [158, 1000, 9999],
  [1, 54566, 54566],
];

const GUARD_PORT = 65001;
/** Source of the request the benchmark's front tier allows (see buildScaleBenchStore). */
const FRONT_ALLOWED_SOURCE = '203.0.113.7';
const TIER = 'perimeter';
const GNP = 'GlobalNetworkPolicy';

function buildIpSets(rand: SeededRandom): { ids: string[]; messages: ToDataplane[] } {
  const ids: string[] = [];
  const messages: ToDataplane[] = [];
  let member = 0;
  for (const [count, min, max] of SET_SIZE_HISTOGRAM) {
    for (let i = 0; i < count; i++) {
      const id = `s:bench-${String(ids.length).padStart(4, '0')}`;
      const size = min + rand.int(max - min + 1);
      const members: string[] = new Array<string>(size);
      for (let j = 0; j < size; j++, member++) {
        members[j] = `10.${(member >> 16) & 0xff}.${(member >> 8) & 0xff}.${member & 0xff}/32`;
      }
      ids.push(id);
      messages.push({ ipset_update: { id, type: 'NET', members } });
    }
  }
  return { ids, messages };
}

/** Rule index → action for the few non-pass rules, placed at random. */
function specialActions(rand: SeededRandom, p: ScaleParams): Map<number, string> {
  const total = p.policies * p.rulesPerPolicy;
  const actions = new Map<number, string>();
  while (actions.size < p.denyRules) actions.set(rand.int(total), 'deny');
  let allows = 0;
  while (allows < p.allowRules) {
    const at = rand.int(total);
    if (!actions.has(at)) {
      actions.set(at, 'allow');
      allows++;
    }
  }
  return actions;
}

function scaleRule(rand: SeededRandom, setIds: readonly string[], action: string, refFraction: number): Rule {
  const guard = [{ first: GUARD_PORT, last: GUARD_PORT }];
  if (rand.next() < refFraction) {
    const id = rand.pick(setIds);
    return rand.int(2) === 0
      ? { action, src_ip_set_ids: [id], src_ports: guard }
      : { action, dst_ip_set_ids: [id], dst_ports: guard };
  }
  return { action, dst_ports: guard };
}

export function buildScaleStore(params: ScaleParams = CALICO_SCALE): ScaleStore {
  const rand = seededRandom(params.seed);
  const sets = buildIpSets(rand);
  const special = specialActions(rand, params);
  const policyMessages: ToDataplane[] = [];
  const ingress: { name: string; kind: string }[] = [];
  let ruleIndex = 0;
  for (let i = 0; i < params.policies; i++) {
    const name = `policy-${String(i).padStart(3, '0')}`;
    const rules: Rule[] = [];
    for (let j = 0; j < params.rulesPerPolicy; j++, ruleIndex++) {
      rules.push(scaleRule(rand, sets.ids, special.get(ruleIndex) ?? 'pass', params.ipSetRefFraction));
    }
    policyMessages.push({
      active_policy_update: { id: { name, kind: GNP }, policy: { tier: TIER, inbound_rules: rules } },
    });
    ingress.push({ name, kind: GNP });
  }
  const endpoint: ToDataplane = {
    workload_endpoint_update: {
      id: { orchestrator_id: 'k8s', workload_id: 'bench/pod', endpoint_id: 'eth0' },
      endpoint: { name: 'eth0', tiers: [{ name: TIER, ingress_policies: ingress, default_action: 'Deny' }] },
    },
  };
  // Felix's order: IP sets, then the policies that reference them, then the endpoint.
  return {
    messages: [...sets.messages, ...policyMessages, endpoint],
    request: {
      attributes: {
        source: {
          address: { socket_address: { address: '192.0.2.10', port_value: 45000, protocol: 'TCP' } },
        },
        destination: {
          address: { socket_address: { address: '198.51.100.20', port_value: 8080, protocol: 'TCP' } },
        },
      },
    },
    expectedCode: 7,
  };
}

function tcpRequest(srcIp: string, srcPort: number, dstPort: number): CheckRequest {
  return {
    attributes: {
      source: { address: { socket_address: { address: srcIp, port_value: srcPort, protocol: 'TCP' } } },
      destination: {
        address: { socket_address: { address: '198.51.100.20', port_value: dstPort, protocol: 'TCP' } },
      },
    },
  };
}

/**
 * The benchmark's variant of the production store: the same IP sets, policies and tier, behind
 * a front tier (default action Pass) whose one policy allows TCP from 203.0.113.7, so a single
 * store serves a request decided by the first policy and requests that walk all 19,992 rules:
 * - `first policy allows`: from 203.0.113.7 → OK at the front tier's first rule;
 * - `full walk, ports filter every rule`: the spec §6 request; every port guard fails → denied;
 * - `full walk with IP-set lookups`: source port = the guard port, so every rule on a source set
 *   (~12 % of them, about 2,400) looks its set up, none contains the address → denied.
 */
export function buildScaleBenchStore(params: ScaleParams = CALICO_SCALE): {
  messages: ToDataplane[];
  requests: ScaleRequest[];
} {
  const base = buildScaleStore(params);
  const frontPolicy: ToDataplane = {
    active_policy_update: {
      id: { name: 'front-allow', kind: GNP },
      policy: {
        tier: 'front',
        inbound_rules: [
          { action: 'allow', protocol: { name: 'TCP' }, src_net: [`${FRONT_ALLOWED_SOURCE}/32`] },
        ],
      },
    },
  };
  const messages = base.messages.map((m): ToDataplane => {
    const wep = m.workload_endpoint_update;
    if (wep?.endpoint?.tiers == null) return m;
    const front = {
      name: 'front',
      ingress_policies: [{ name: 'front-allow', kind: GNP }],
      default_action: 'Pass',
    };
    return {
      workload_endpoint_update: {
        ...wep,
        endpoint: { ...wep.endpoint, tiers: [front, ...wep.endpoint.tiers] },
      },
    };
  });
  messages.splice(messages.length - 1, 0, frontPolicy);
  return {
    messages,
    requests: [
      {
        name: 'first policy allows',
        request: tcpRequest(FRONT_ALLOWED_SOURCE, 45000, 8080),
        expectedCode: 0,
      },
      { name: 'full walk, ports filter every rule', request: base.request, expectedCode: 7 },
      {
        name: 'full walk with IP-set lookups',
        request: tcpRequest('192.0.2.10', GUARD_PORT, 8080),
        expectedCode: 7,
      },
    ],
  };
}
