// Renders plan steps into what the tools read: `wg addconf` configuration text (stdin) and
// `ip -batch` lines for routes and rules. Pure, so the exact commands are unit-tested.
import type { IpFamily } from '../../calico/ip.js';
import type { ObservedRoute, RoutingRule } from './device-state.js';
import type { PeerHandshake, PeerUpsert } from './plan.js';
import type { TableRoute } from './peer-table-types.js';

export interface InterfaceSettings {
  /** Only when the device must take our key; the text then holds a secret (stdin only). */
  readonly privateKey: string | null;
  readonly listenPort: number | null;
  readonly firewallMark: number | null;
}

/**
 * `wg addconf` input: an [Interface] section for what changes, then one [Peer] per upsert. In a
 * configuration file every listed peer's allowed IPs are replaced, and a peer without an
 * AllowedIPs line ends up with none, so each section states the peer's whole state.
 */
export function wgConfText(settings: InterfaceSettings, peers: readonly PeerUpsert[]): string {
  const lines: string[] = [];
  if (settings.privateKey !== null || settings.listenPort !== null || settings.firewallMark !== null) {
    lines.push('[Interface]');
    if (settings.privateKey !== null) lines.push(`PrivateKey = ${settings.privateKey}`);
    if (settings.listenPort !== null) lines.push(`ListenPort = ${settings.listenPort}`);
    if (settings.firewallMark !== null) {
      lines.push(
        `FwMark = ${settings.firewallMark === 0 ? 'off' : `0x${settings.firewallMark.toString(16)}`}`,
      );
    }
  }
  for (const { publicKey, peer } of peers) {
    lines.push('[Peer]', `PublicKey = ${publicKey}`);
    if (peer.endpoint !== null) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.allowedIps.length > 0) lines.push(`AllowedIPs = ${peer.allowedIps.join(', ')}`);
    lines.push(
      `PersistentKeepalive = ${peer.persistentKeepaliveSeconds === 0 ? 'off' : peer.persistentKeepaliveSeconds}`,
    );
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * `wg set` argv lists that make the kernel start a handshake with each peer now: keepalive off,
 * then on (the kernel sends a keepalive when it goes from 0 to non-zero, and that needs a
 * session), then off again where it was off. `chunk` peers per call keep argv short.
 */
export function wgHandshakeArgvs(iface: string, peers: readonly PeerHandshake[], chunk = 200): string[][] {
  const calls: string[][] = [];
  const phase = (list: readonly PeerHandshake[], value: (p: PeerHandshake) => string): void => {
    for (let i = 0; i < list.length; i += chunk) {
      calls.push([
        'wg',
        'set',
        iface,
        ...list.slice(i, i + chunk).flatMap((p) => ['peer', p.publicKey, 'persistent-keepalive', value(p)]),
      ]);
    }
  };
  phase(peers, () => 'off');
  phase(peers, (p) => String(p.persistentKeepaliveSeconds === 0 ? 1 : p.persistentKeepaliveSeconds));
  phase(
    peers.filter((p) => p.persistentKeepaliveSeconds === 0),
    () => 'off',
  );
  return calls;
}

export interface RouteContext {
  readonly family: IpFamily;
  readonly table: number;
  readonly iface: string;
  readonly protocol: number;
}

/** `ip -batch` lines that add or re-target routes in our table. */
export function routeReplaceLines(ctx: RouteContext, routes: readonly TableRoute[]): string[] {
  return routes.map((r) =>
    r.target === 'throw'
      ? `route replace throw ${r.dst} table ${ctx.table} proto ${ctx.protocol}`
      : `route replace ${r.dst} dev ${ctx.iface} table ${ctx.table} proto ${ctx.protocol}${ctx.family === 4 ? ' scope link' : ''}`,
  );
}

/** `ip -batch` lines that delete routes from our table. */
export function routeDeleteLines(
  ctx: Pick<RouteContext, 'table' | 'iface'>,
  routes: readonly ObservedRoute[],
): string[] {
  return routes.map((r) =>
    r.target === 'throw'
      ? `route del throw ${r.dst} table ${ctx.table}`
      : `route del ${r.dst} dev ${ctx.iface} table ${ctx.table}`,
  );
}

/**
 * The `ip -batch` line for `rule add|del` that selects exactly the rule described (the family
 * comes from the batch child's -4/-6).
 */
export function ruleLine(verb: 'add' | 'del', rule: RoutingRule): string {
  const words = ['rule', verb, 'priority', String(rule.priority)];
  if (rule.src !== undefined) words.push('from', rule.src);
  if (rule.invert) words.push('not');
  if (rule.mark !== 0 || rule.mask !== 0)
    words.push('fwmark', `0x${rule.mark.toString(16)}/0x${rule.mask.toString(16)}`);
  words.push('lookup', String(rule.table));
  return words.join(' ');
}
