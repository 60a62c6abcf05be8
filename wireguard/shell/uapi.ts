// WireGuard's cross-platform userspace API (the `set=1` protocol on wireguard-go's control
// socket, <socket dir>/<iface>.sock), used to configure our wireguard-go device without starting
// a `wg` process: a single added node then costs one socket round trip, and the private key never
// leaves this process (no file, no pipe). Kernel devices are still configured with `wg`.
import { connect } from 'node:net';
import type { PeerHandshake, PeerUpsert } from '../core/plan.js';
import type { InterfaceSettings } from '../core/tool-input.js';

const TIMEOUT_MS = 10_000;

/** The `set=1` request: interface settings, then removals, then each upserted peer's whole state. */
export function uapiSetText(
  settings: InterfaceSettings,
  removePeers: readonly string[],
  upserts: readonly PeerUpsert[],
): string {
  const lines = ['set=1'];
  if (settings.privateKey !== null) lines.push(`private_key=${hex(settings.privateKey)}`);
  if (settings.listenPort !== null) lines.push(`listen_port=${settings.listenPort}`);
  if (settings.firewallMark !== null) lines.push(`fwmark=${settings.firewallMark}`);
  for (const key of removePeers) lines.push(`public_key=${hex(key)}`, 'remove=true');
  for (const { publicKey, peer } of upserts) {
    lines.push(`public_key=${hex(publicKey)}`);
    if (peer.endpoint !== null) lines.push(`endpoint=${peer.endpoint}`);
    lines.push('replace_allowed_ips=true');
    for (const cidr of peer.allowedIps) lines.push(`allowed_ip=${cidr}`);
    lines.push(`persistent_keepalive_interval=${peer.persistentKeepaliveSeconds}`);
  }
  return `${lines.join('\n')}\n\n`;
}

/**
 * The `set=1` requests that make wireguard-go start a handshake with each peer now: turning
 * persistent keepalive on (from 0) sends a keepalive at once, which needs a session, so a
 * handshake starts (wireguard-go device/uapi.go, `pkaOn`; the kernel does the same). The second
 * request restores a keepalive of 0. `update_only` keeps a peer removed meanwhile from coming back.
 */
export function uapiHandshakeRequests(peers: readonly PeerHandshake[]): string[] {
  if (peers.length === 0) return [];
  const kick = ['set=1'];
  const restore = ['set=1'];
  for (const p of peers) {
    kick.push(`public_key=${hex(p.publicKey)}`, 'update_only=true', 'persistent_keepalive_interval=0');
    kick.push(
      `persistent_keepalive_interval=${p.persistentKeepaliveSeconds === 0 ? 1 : p.persistentKeepaliveSeconds}`,
    );
    if (p.persistentKeepaliveSeconds === 0)
      restore.push(`public_key=${hex(p.publicKey)}`, 'update_only=true', 'persistent_keepalive_interval=0');
  }
  const requests = [kick];
  if (restore.length > 1) requests.push(restore);
  return requests.map((lines) => `${lines.join('\n')}\n\n`);
}

/** The errno of a UAPI reply (`errno=0` is success), or null when the reply is malformed. */
export function parseUapiErrno(reply: string): number | null {
  const m = /(?:^|\n)errno=(-?\d+)\n/.exec(reply);
  return m === null ? null : Number(m[1]);
}

/** Sends one request and resolves on `errno=0`; rejects with the errno or the socket error. */
export function uapiSet(socketPath: string, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let reply = '';
    let settled = false;
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${socketPath}`)), TIMEOUT_MS);
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err === null) resolve();
      else reject(err);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (!reply.includes('\n\n')) return;
      const errno = parseUapiErrno(reply);
      done(
        errno === 0
          ? null
          : new Error(`wireguard-go refused the configuration (errno ${errno ?? 'unreadable'})`),
      );
    });
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error(`${socketPath} closed before answering`)));
    socket.end(request);
  });
}

function hex(base64Key: string): string {
  return Buffer.from(base64Key, 'base64').toString('hex');
}
