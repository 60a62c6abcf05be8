import { describe, expect, it } from 'vitest';
import type { DataplaneState } from './model.js';
import { DEFAULT_ENFORCEMENT_CONFIG } from './model.js';
import { programOf, renderChanges, renderFull, renderProblems, renderRemoveTable } from './index.js';
import { ipSetName } from './names.js';
import {
  ALLOW_ALL,
  endpoint,
  gnp,
  ipSet,
  knp,
  overviewState,
  policy,
  richState,
  state,
  tier,
} from './states.cases.js';

function withIpSet(s: DataplaneState, id: string, members: string[]): DataplaneState {
  const ipSets = new Map(s.ipSets);
  ipSets.set(id, ipSet(ipSets.get(id)?.type ?? 'NET', members));
  return { ...s, ipSets };
}

describe('renderFull', () => {
  const text = renderFull(overviewState());

  it('replaces only our table, atomically, whether or not it exists', () => {
    expect(
      text.startsWith('table inet alp-mesh {}\ndelete table inet alp-mesh\ntable inet alp-mesh {\n'),
    ).toBe(true);
    expect(text.match(/^table /gm)).toHaveLength(2);
  });

  it('hooks forward and input at filter priority, and has no output chain (host → pod is not policed)', () => {
    expect(text).toContain(
      '\tchain hook-forward {\n\t\ttype filter hook forward priority filter; policy accept;\n',
    );
    expect(text).toContain(
      '\tchain hook-input {\n\t\ttype filter hook input priority filter; policy accept;\n',
    );
    expect(text).not.toContain('hook output');
  });

  it('accepts replies, drops invalid packets, then dispatches on the workload interface', () => {
    const forward = text.slice(text.indexOf('chain hook-forward'));
    expect(forward).toContain(
      [
        'iifname "cali*" ct state established,related accept',
        'oifname "cali*" ct state established,related accept',
        'iifname "cali*" ct state invalid counter drop comment "conntrack invalid"',
        'oifname "cali*" ct state invalid counter drop comment "conntrack invalid"',
        'iifname "cali*" jump from-wl-dispatch',
        'oifname "cali*" jump to-wl-dispatch',
      ].join('\n\t\t'),
    );
  });

  it('dispatches known interfaces through verdict maps and drops unknown ones with a log', () => {
    expect(text).toContain('"calib0b0b0b0b0b" : goto tw-calib0b0b0b0b0b');
    expect(text).toContain(
      'oifname vmap @to-wl-map\n\t\tlimit rate 10/second log prefix "alp-drop unknown-interface oifname "\n\t\tcounter drop comment "unknown workload interface"',
    );
  });

  it("runs the backend's ingress tier in policy order until one decides, ends it with a logged drop, then profiles", () => {
    const chain = text.slice(
      text.indexOf('chain tw-calib0b0b0b0b0b'),
      text.indexOf('chain fw-calib0b0b0b0b0b'),
    );
    // Each policy is jumped to while neither the accept nor the pass mark is set; one return
    // for an accepted packet, then the end-of-tier drop for one no policy passed.
    expect(chain.split('\n\t\t').slice(1, 8)).toEqual([
      'meta mark set meta mark & 0xfffcffff',
      'meta mark set meta mark & 0xfffdffff comment "tier default"',
      'meta mark & 0x00030000 == 0 jump pi-knp/default/knp.default.allow-frontend',
      'meta mark & 0x00030000 == 0 jump pi-knp/default/knp.default.deny-all-ingress',
      'meta mark & 0x00010000 != 0 goto mark-clear-return',
      'meta mark & 0x00020000 == 0 limit rate 10/second log prefix "alp-drop end-of-tier default ingress "',
      'meta mark & 0x00020000 == 0 counter drop comment "end of tier default"',
    ]);
  });

  it('with no policy for a direction, profiles decide: kns allows, otherwise a logged drop', () => {
    const chain = text.slice(
      text.indexOf('chain fw-calib0b0b0b0b0b'),
      text.indexOf('chain tw-cali0123456789a'),
    );
    expect(chain.split('\n\t\t').slice(1, 4)).toEqual([
      'meta mark set meta mark & 0xfffcffff',
      'meta l4proto 17 th dport 4789 counter drop comment "VXLAN from a workload"',
      'meta l4proto 4 counter drop comment "IPIP from a workload"',
    ]);
    expect(chain).toContain('jump pro-kns.default\n\t\tmeta mark & 0x00010000 != 0 goto mark-clear-return');
    expect(chain).toContain('log prefix "alp-drop no-profile egress default/backend "\n\t\tcounter drop');
    expect(text).toContain('chain pro-kns.default {\n\t\tcounter goto mark-accept comment "#0 allow"');
  });

  it('ends an allow or pass in a goto to a shared mark chain, declared before any chain that uses it', () => {
    // Falling off a chain reached by goto returns to the chain that jumped to the policy chain:
    // the same as setting the mark and returning in place.
    const marks = [
      '\tchain mark-accept {\n\t\tmeta mark set meta mark | 0x00010000\n\t}',
      '\tchain mark-pass {\n\t\tmeta mark set meta mark | 0x00020000\n\t}',
      '\tchain mark-clear-return {\n\t\tmeta mark set meta mark & 0xfffcffff\n\t}',
    ];
    const firstUse = text.indexOf('\tchain p');
    for (const m of marks) {
      expect(text).toContain(m);
      expect(text.indexOf(m)).toBeLessThan(firstUse);
    }
    expect(text).not.toMatch(/meta mark set meta mark [|&] 0x[0-9a-f]+ return/);
  });

  it('renders an IP set of pod addresses as a hash set (nft adds and deletes its elements cheaply), only for a family some rule looks up', () => {
    const name = ipSetName('s:frontend', 4);
    expect(text).toContain(
      `set ${name} {\n\t\ttype ipv4_addr\n\t\telements = { 10.66.1.7,\n\t\t\t198.51.100.2 }`,
    );
    // No IPv6 members: no rule matches the empty IPv6 set, so it is not declared at all.
    expect(text).not.toContain(ipSetName('s:frontend', 6));
  });

  it('renders an IP set that holds a network as an interval set', () => {
    const wide = renderFull(withIpSet(overviewState(), 's:frontend', ['10.66.0.0/16', '198.51.100.2/32']));
    expect(wide).toContain(
      `set ${ipSetName('s:frontend', 4)} {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.66.0.0/16,\n\t\t\t198.51.100.2 }`,
    );
    expect(wide).not.toContain(ipSetName('s:frontend', 6));
  });

  it('skips staged policies in tiers and never renders their chains', () => {
    const rich = renderFull(richState());
    expect(rich).not.toContain('snp/');
    expect(rich).toContain('comment "tier default"');
  });

  it('Accept and Return for endpoint-to-host both let allowed traffic through our table', () => {
    for (const action of ['Accept', 'Return'] as const) {
      const s = {
        ...overviewState(),
        config: { ...DEFAULT_ENFORCEMENT_CONFIG, defaultEndpointToHostAction: action },
      };
      expect(renderFull(s)).toContain(
        `iifname "cali*" counter accept comment "DefaultEndpointToHostAction ${action}"`,
      );
    }
  });

  it('WireGuard: accepts its port to local addresses, strict mode drops peer pod CIDRs not via the device', () => {
    const rich = renderFull(richState());
    expect(rich).toContain(
      'meta l4proto 17 th dport 51820 fib daddr type local counter accept comment "wireguard"',
    );
    expect(rich).toContain(
      'iifname "cali*" oifname != "wireguard.cali" ip daddr @wg-peer-cidrs-4 counter drop comment "wireguard strict: peer pod CIDR not via the tunnel"',
    );
    expect(rich).toContain(
      'set wg-peer-cidrs-6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = { fd00:70::/64 }',
    );
    expect(rich).toContain(
      'type filter hook prerouting priority raw; policy accept;\n\t\tiifname "lo" return',
    );
  });

  it('reports what it failed closed on', () => {
    expect(renderProblems(richState())).toContain(
      'endpoint ns1/db: policy knp/ns1/not-there is missing, dropping ingress traffic that reaches it',
    );
  });
});

describe('renderChanges', () => {
  const base = overviewState();

  it('identical states (or the same state) change nothing', () => {
    expect(renderChanges(base, base)).toBe('');
    expect(renderChanges(base, overviewState())).toBe('');
  });

  it('a pod joining a selected set adds exactly one element', () => {
    const next = withIpSet(base, 's:frontend', ['198.51.100.2/32', '10.66.1.7/32', '10.66.1.9/32']);
    expect(renderChanges(base, next)).toBe(
      `add element inet alp-mesh ${ipSetName('s:frontend', 4)} { 10.66.1.9 }\n`,
    );
  });

  it('a pod leaving a set deletes exactly its element', () => {
    const next = withIpSet(base, 's:frontend', ['198.51.100.2/32']);
    expect(renderChanges(base, next)).toBe(
      `delete element inet alp-mesh ${ipSetName('s:frontend', 4)} { 10.66.1.7 }\n`,
    );
  });

  it('a member inside another member changes nothing in the kernel; removing the outer one exposes it', () => {
    const wide = withIpSet(base, 's:frontend', ['10.66.0.0/16']);
    const both = withIpSet(base, 's:frontend', ['10.66.0.0/16', '10.66.1.7/32']);
    expect(renderChanges(wide, both)).toBe('');
    const name = ipSetName('s:frontend', 4);
    const two = withIpSet(base, 's:frontend', ['10.66.0.0/16', '10.67.0.0/16', '10.66.1.7/32']);
    expect(renderChanges(both, two)).toBe(`add element inet alp-mesh ${name} { 10.67.0.0/16 }\n`);
    expect(renderChanges(two, withIpSet(base, 's:frontend', ['10.67.0.0/16', '10.66.1.7/32']))).toBe(
      `delete element inet alp-mesh ${name} { 10.66.0.0/16 }\nadd element inet alp-mesh ${name} { 10.66.1.7 }\n`,
    );
  });

  it('a set that loses its last network becomes a hash set: one full replace, still one transaction', () => {
    const wide = withIpSet(base, 's:frontend', ['10.66.0.0/16', '10.66.1.7/32']);
    const hosts = withIpSet(base, 's:frontend', ['10.66.1.7/32']);
    const out = renderChanges(wide, hosts);
    expect(
      out.startsWith('table inet alp-mesh {}\ndelete table inet alp-mesh\ntable inet alp-mesh {\n'),
    ).toBe(true);
    expect(out).toContain(
      `set ${ipSetName('s:frontend', 4)} {\n\t\ttype ipv4_addr\n\t\telements = { 10.66.1.7 }`,
    );
    expect(out).toBe(renderFull(hosts));
  });

  it("a policy edit rewrites only that policy's chain, and deletes a set no rule looks up any more", () => {
    const allow = knp('default', 'knp.default.allow-frontend');
    const policies = new Map(base.policies);
    const [key, entry] = policy(allow, [
      { action: 'allow', protocol: { name: 'tcp' }, dst_ports: [{ first: 8080, last: 8080 }] },
    ]);
    policies.set(key, entry);
    const out = renderChanges(base, { ...base, policies });
    expect(out).toBe(
      [
        'flush chain inet alp-mesh pi-knp/default/knp.default.allow-frontend',
        'table inet alp-mesh {',
        '\tchain pi-knp/default/knp.default.allow-frontend {',
        '\t\tmeta l4proto 6 th dport 8080 counter goto mark-accept comment "#0 allow"',
        '\t}',
        '}',
        `delete set inet alp-mesh ${ipSetName('s:frontend', 4)}`,
        '',
      ].join('\n'),
    );
    // Back again: the set is declared with its elements before the chain that looks it up.
    const back = renderChanges({ ...base, policies }, base);
    const declared = back.indexOf(`add set inet alp-mesh ${ipSetName('s:frontend', 4)} `);
    expect(declared).toBeGreaterThanOrEqual(0);
    expect(
      back.indexOf(`add element inet alp-mesh ${ipSetName('s:frontend', 4)} { 10.66.1.7,`),
    ).toBeGreaterThan(declared);
    expect(
      back.indexOf('flush chain inet alp-mesh pi-knp/default/knp.default.allow-frontend'),
    ).toBeGreaterThan(declared);
  });

  it('a new pod gets its chains declared and filled before its dispatch entries', () => {
    const endpoints = new Map(base.endpoints);
    const ep = endpoint('default', 'new', 'cali9999999999f', '198.51.100.9', []);
    endpoints.set(ep.workloadId, ep);
    const out = renderChanges(base, { ...base, endpoints });
    const lines = out.split('\n');
    expect(lines[0]).toBe('add chain inet alp-mesh tw-cali9999999999f');
    expect(lines[1]).toBe('add chain inet alp-mesh fw-cali9999999999f');
    const fillAt = lines.indexOf('\tchain tw-cali9999999999f {');
    const mapAt = lines.indexOf(
      'add element inet alp-mesh to-wl-map { "cali9999999999f" : goto tw-cali9999999999f }',
    );
    expect(fillAt).toBeGreaterThan(0);
    expect(mapAt).toBeGreaterThan(fillAt);
    expect(out).not.toMatch(/flush chain|delete/);
  });

  it('a removed pod loses its dispatch entries, then its chains', () => {
    const endpoints = new Map(base.endpoints);
    endpoints.delete('default/frontend');
    expect(renderChanges(base, { ...base, endpoints })).toBe(
      [
        'delete element inet alp-mesh from-wl-map { "cali0123456789a" }',
        'delete element inet alp-mesh to-wl-map { "cali0123456789a" }',
        'flush chain inet alp-mesh tw-cali0123456789a',
        'flush chain inet alp-mesh fw-cali0123456789a',
        'delete chain inet alp-mesh tw-cali0123456789a',
        'delete chain inet alp-mesh fw-cali0123456789a',
        '',
      ].join('\n'),
    );
  });

  it('a deleted policy: the endpoint chain stops jumping to it before its chains go', () => {
    const deny = knp('default', 'knp.default.deny-all-ingress');
    const s0 = state({
      endpoints: [endpoint('default', 'a', 'cali000000000aa', '198.51.100.2', [tier('default', [deny])])],
      policies: [policy(deny, [])],
      profiles: [['kns.default', ALLOW_ALL]],
    });
    const s1 = state({
      endpoints: [endpoint('default', 'a', 'cali000000000aa', '198.51.100.2', [])],
      profiles: [['kns.default', ALLOW_ALL]],
    });
    const out = renderChanges(s0, s1);
    expect(out.indexOf('flush chain inet alp-mesh tw-cali000000000aa')).toBeGreaterThanOrEqual(0);
    expect(
      out.indexOf('delete chain inet alp-mesh pi-knp/default/knp.default.deny-all-ingress'),
    ).toBeGreaterThan(out.indexOf('flush chain inet alp-mesh tw-cali000000000aa'));
  });

  it('rebuilds only what changed: every other chain and set is the previous object', () => {
    const s0 = richState();
    const [key, entry] = policy(gnp('security.second'), [{ action: 'deny' }], [], 'security');
    const s1 = { ...s0, policies: new Map(s0.policies).set(key, entry) };
    expect(renderChanges(s0, s1)).toContain('flush chain inet alp-mesh pi-gnp/security.second');
    renderChanges(s0, s1);
    const p0 = programOf(s0);
    const p1 = programOf(s1);
    const rebuilt = [...p1.chains.values()].filter((c) => p0.chains.get(c.name) !== c).map((c) => c.name);
    expect(rebuilt.sort()).toEqual(
      [
        'from-wl-dispatch',
        'hook-forward',
        'hook-input',
        'hook-prerouting',
        'mark-accept',
        'mark-clear-return',
        'mark-pass',
        'pi-gnp/security.second',
        'to-wl-dispatch',
      ].sort(),
    );
    const ipSets = [...p1.sets.values()].filter((s) => s.ipSetId !== '');
    expect(ipSets.length).toBeGreaterThan(0);
    expect(ipSets.every((s) => p0.sets.get(s.name) === s)).toBe(true);
  });

  it("leaves out a policy's chain for a direction no endpoint lists it in, and adds it with the first one that does", () => {
    const s0 = richState();
    const p0 = programOf(s0);
    expect(p0.chains.has('pi-gnp/security.second')).toBe(true);
    expect(p0.chains.has('po-gnp/security.second')).toBe(false);
    const endpoints = new Map(s0.endpoints);
    const [wid, ep] = [...endpoints].find(([, e]) =>
      e.tiers.some((t) => t.ingressPolicies.some((id) => id.name === 'security.second')),
    )!;
    const tiers = ep.tiers.map((t) =>
      t.ingressPolicies.some((id) => id.name === 'security.second')
        ? {
            ...t,
            egressPolicies: [
              ...t.egressPolicies,
              ...t.ingressPolicies.filter((id) => id.name === 'security.second'),
            ],
          }
        : t,
    );
    endpoints.set(wid, { ...ep, tiers });
    const out = renderChanges(s0, { ...s0, endpoints });
    const declared = out.indexOf('add chain inet alp-mesh po-gnp/security.second\n');
    expect(declared).toBeGreaterThanOrEqual(0);
    expect(out.indexOf(`flush chain inet alp-mesh ${`fw-${ep.iface}`}`)).toBeGreaterThan(declared);
  });

  it('another table name is a full replacement', () => {
    const next = { ...base, config: { ...base.config, tableName: 'other' } };
    expect(renderChanges(base, next)).toBe(renderFull(next));
  });
});

describe('renderRemoveTable', () => {
  it('removes our table whether or not it exists', () => {
    expect(renderRemoveTable('alp-mesh')).toBe('table inet alp-mesh {}\ndelete table inet alp-mesh\n');
  });
});
