// Our base chains (the hooks) and the dispatch chains, as Felix's static filter rules
// (felix/rules/static.go) restricted to what policy-only mode needs for workloads:
//
//   hook-forward (filter hook forward, priority filter): pod <-> pod through the node, pod <-> outside.
//     [WireGuard strict drop] -> established/related accept -> invalid drop (workload traffic only)
//     -> iifname cali* jump from-wl-dispatch (egress of the source) -> oifname cali* jump
//     to-wl-dispatch (ingress of the destination). A policy allow returns, so traffic between two
//     local pods meets both endpoints' policy.
//   hook-input (filter hook input, priority filter): pod -> host. [WireGuard port accept] ->
//     conntrack -> IPv6 router ICMP -> from-wl-dispatch (egress policy) -> DefaultEndpointToHostAction.
//   hook-prerouting (filter hook prerouting, priority raw): only with WireGuard host encryption.
//   No output chain: Felix does not police host -> local workload traffic (kubelet probes must
//   work), see filterOutputChain in felix/rules/static.go.
//
// The dispatch chains goto the endpoint's chain through a verdict map keyed by interface name;
// a packet on an interface with our prefix that no endpoint owns is dropped, as Felix does.
import { loggedDrop, PLUMBING, rule } from './chain-parts.js';
import type { EnforcementConfig } from './model.js';
import {
  CHAIN_FORWARD,
  CHAIN_FROM_WL_DISPATCH,
  CHAIN_INPUT,
  CHAIN_MARK_ACCEPT,
  CHAIN_MARK_PASS,
  CHAIN_MARK_RETURN,
  CHAIN_PREROUTING,
  CHAIN_TO_WL_DISPATCH,
  WG_PEERS_SET_PREFIX,
} from './names.js';
import type { Chain, Family, Match, Rule, RuleOrigin } from './program.js';

const FAMILIES: readonly Family[] = [4, 6];
/** Felix's ICMPv6Filter: multicast listener query/report/done, router and neighbour solicitation/advert. */
const IPV6_ROUTER_ICMP = [130, 131, 132, 133, 135, 136];

/**
 * The shared tails of a decision: a policy rule that allows (passes) ends in `goto mark-accept`
 * (`mark-pass`), an endpoint chain whose tier allowed in `goto mark-clear-return`. A chain reached
 * by goto returns, at its end, to the chain that jumped to its caller, so each is the same as
 * setting (clearing) the mark in place and returning, with one verdict where the rule had a mark
 * load, an operation, a mark store and a return: ~1,800 rules at issue 11's scale, each cheaper
 * for nft to load.
 */
export function markChains(config: EnforcementConfig): Chain[] {
  const { accept, pass } = config.marks;
  const chain = (name: string, s: Rule['statements'][number]): Chain => ({
    name,
    base: null,
    owner: { kind: 'mark' },
    source: '',
    key: '',
    problems: [],
    rules: [rule([], [s], null)],
  });
  return [
    chain(CHAIN_MARK_ACCEPT, { kind: 'set-mark', bits: accept }),
    chain(CHAIN_MARK_PASS, { kind: 'set-mark', bits: pass }),
    chain(CHAIN_MARK_RETURN, { kind: 'clear-mark', bits: accept | pass }),
  ];
}

export function dispatchChain(name: string, key: 'iifname' | 'oifname', map: string): Chain {
  return {
    name,
    base: null,
    owner: { kind: 'dispatch' },
    source: '',
    key: '',
    problems: [],
    rules: [
      rule([], [], { kind: 'vmap', key, map }),
      ...loggedDrop(
        [],
        `unknown-interface ${key}`,
        { kind: 'unknown-interface' },
        'unknown workload interface',
      ),
    ],
  };
}

function wildcard(config: EnforcementConfig): string {
  return `${config.interfacePrefix}*`;
}

export function forwardChain(config: EnforcementConfig): Chain {
  const fromWl: Match = { kind: 'iifname', name: wildcard(config), negate: false };
  const toWl: Match = { kind: 'oifname', name: wildcard(config), negate: false };
  const rules: Rule[] = [];
  const wg = config.wireguard;
  if (wg !== null && wg.strict) {
    for (const family of FAMILIES) {
      // Each family's peers are reached through that family's device.
      const device = family === 6 && wg.v6 !== undefined ? wg.v6.interfaceName : wg.interfaceName;
      if (device === '') continue;
      const m: Match[] = [
        fromWl,
        { kind: 'oifname', name: device, negate: true },
        { kind: 'addr-set', family, dir: 'daddr', set: `${WG_PEERS_SET_PREFIX}${family}`, negate: false },
      ];
      rules.push(
        ...loggedDrop(
          m,
          'wireguard-strict',
          { kind: 'wireguard-strict' },
          'wireguard strict: peer pod CIDR not via the tunnel',
        ),
      );
    }
  }
  const established: Match = { kind: 'ct-state', states: ['established', 'related'] };
  const invalid: Match = { kind: 'ct-state', states: ['invalid'] };
  for (const side of [fromWl, toWl])
    rules.push(rule([side, established], [], { kind: 'accept' }, { kind: 'ct-established' }));
  for (const side of [fromWl, toWl]) {
    rules.push(
      rule(
        [side, invalid],
        [{ kind: 'counter' }],
        { kind: 'drop' },
        { kind: 'ct-invalid' },
        'conntrack invalid',
      ),
    );
  }
  rules.push(rule([fromWl], [], { kind: 'jump', chain: CHAIN_FROM_WL_DISPATCH }));
  rules.push(rule([toWl], [], { kind: 'jump', chain: CHAIN_TO_WL_DISPATCH }));
  return {
    name: CHAIN_FORWARD,
    base: { type: 'filter', hook: 'forward', priority: 'filter' },
    owner: { kind: 'base' },
    source: '',
    key: '',
    problems: [],
    rules,
  };
}

export function inputChain(config: EnforcementConfig): Chain {
  const fromWl: Match = { kind: 'iifname', name: wildcard(config), negate: false };
  const rules: Rule[] = [];
  const wg = config.wireguard;
  if (wg !== null) {
    // Felix's "Allow incoming IPv4/IPv6 Wireguard packets": ahead of workload policy, as in
    // Felix; with dual stack each family's port for that family.
    const ports: [Match[], number][] =
      wg.v6 === undefined
        ? [[[], wg.listenPort]]
        : [
            [[{ kind: 'nfproto', family: 4 }], wg.listenPort],
            [[{ kind: 'nfproto', family: 6 }], wg.v6.listenPort],
          ];
    for (const [family, port] of ports)
      rules.push(
        rule(
          [
            ...family,
            { kind: 'l4proto', protocols: [17], negate: false },
            { kind: 'ports', dir: 'dport', ranges: [{ first: port, last: port }], negate: false },
            { kind: 'fib-daddr-local' },
          ],
          [{ kind: 'counter' }],
          { kind: 'accept' },
          { kind: 'wireguard-port' },
          'wireguard',
        ),
      );
  }
  rules.push(
    rule(
      [fromWl, { kind: 'ct-state', states: ['established', 'related'] }],
      [],
      { kind: 'accept' },
      { kind: 'ct-established' },
    ),
  );
  rules.push(
    rule(
      [fromWl, { kind: 'ct-state', states: ['invalid'] }],
      [{ kind: 'counter' }],
      { kind: 'drop' },
      { kind: 'ct-invalid' },
      'conntrack invalid',
    ),
  );
  rules.push(
    rule(
      [fromWl, { kind: 'icmpv6-types', types: IPV6_ROUTER_ICMP }],
      [],
      { kind: 'accept' },
      { kind: 'ipv6-router-icmp' },
    ),
  );
  rules.push(rule([fromWl], [], { kind: 'jump', chain: CHAIN_FROM_WL_DISPATCH }));
  // Reached only when the endpoint's egress policy allowed the packet. In our own table Accept
  // and Return are the same (other tables still see the packet); Felix differs only in whether
  // its own host-endpoint rules run next, and alp-node has none.
  const action = config.defaultEndpointToHostAction;
  const origin: RuleOrigin = { kind: 'endpoint-to-host', action };
  if (action === 'Drop')
    rules.push(...loggedDrop([fromWl], 'endpoint-to-host', origin, 'DefaultEndpointToHostAction Drop'));
  else
    rules.push(
      rule(
        [fromWl],
        [{ kind: 'counter' }],
        { kind: 'accept' },
        origin,
        `DefaultEndpointToHostAction ${action}`,
      ),
    );
  return {
    name: CHAIN_INPUT,
    base: { type: 'filter', hook: 'input', priority: 'filter' },
    owner: { kind: 'base' },
    source: '',
    key: '',
    problems: [],
    rules,
  };
}

export function preroutingChain(config: EnforcementConfig): Chain | null {
  const wg = config.wireguard;
  if (wg === null || wg.hostEncryptionMark === 0) return null;
  const devices = [wg.interfaceName, wg.v6?.interfaceName ?? ''].filter((d) => d !== '');
  const skip = ['lo', ...devices, wildcard(config)];
  return {
    name: CHAIN_PREROUTING,
    base: { type: 'filter', hook: 'prerouting', priority: 'raw' },
    owner: { kind: 'base' },
    source: '',
    key: '',
    problems: [],
    rules: [
      ...skip.map((name) => rule([{ kind: 'iifname', name, negate: false }], [], { kind: 'return' })),
      rule(
        [],
        [{ kind: 'set-mark', bits: wg.hostEncryptionMark }],
        null,
        PLUMBING,
        'wireguard incoming mark',
      ),
    ],
  };
}
