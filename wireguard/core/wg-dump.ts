// Parser for `wg show <iface> dump`: tab-separated, the interface line first, then one line per
// peer. The interface line's first field is the PRIVATE KEY: it is dropped here and never kept,
// and the text must never be logged. Untrusted input: never throws, rejects with a reason.
import { parseCidr, parseIp } from '../../calico/ip.js';
import { isWireguardKey } from './keys.js';

export interface WgDumpPeer {
  readonly publicKey: string;
  /** Canonical `ip:port` / `[ip]:port`, or null before the peer has one. */
  readonly endpoint: string | null;
  /** Canonical CIDRs, sorted. */
  readonly allowedIps: readonly string[];
  /** Unix seconds; 0 = never. */
  readonly latestHandshakeSeconds: number;
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly persistentKeepaliveSeconds: number;
}

export interface WgDump {
  readonly publicKey: string | null;
  readonly listenPort: number;
  readonly firewallMark: number;
  readonly peers: readonly WgDumpPeer[];
}

export type WgDumpResult =
  { readonly ok: true; readonly dump: WgDump } | { readonly ok: false; readonly reason: string };

export function parseWgDump(text: string): WgDumpResult {
  const lines = text.split('\n').filter((l) => l !== '');
  const head = lines[0];
  if (head === undefined) return fail('empty output');
  const f = head.split('\t');
  if (f.length !== 4) return fail(`interface line has ${f.length} fields, want 4`);
  const publicKey = f[1] === '(none)' ? null : (f[1] as string);
  if (publicKey !== null && !isWireguardKey(publicKey)) return fail('interface public key is not a key');
  const listenPort = uint(f[2] as string, 65535);
  if (listenPort === null) return fail('bad listen port');
  const firewallMark = f[3] === 'off' ? 0 : hex32(f[3] as string);
  if (firewallMark === null) return fail('bad fwmark');
  const peers: WgDumpPeer[] = [];
  for (let i = 1; i < lines.length; i++) {
    const peer = parsePeer(lines[i] as string);
    if (typeof peer === 'string') return fail(`peer line ${i}: ${peer}`);
    peers.push(peer);
  }
  return { ok: true, dump: { publicKey, listenPort, firewallMark, peers } };
}

function parsePeer(line: string): WgDumpPeer | string {
  const f = line.split('\t');
  if (f.length !== 8) return `${f.length} fields, want 8`;
  const [publicKey, , endpointText, allowedText, handshake, rx, tx, keepalive] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!isWireguardKey(publicKey)) return 'public key is not a key';
  let endpoint: string | null = null;
  if (endpointText !== '(none)') {
    endpoint = canonicalEndpoint(endpointText);
    if (endpoint === null) return 'bad endpoint';
  }
  const allowedIps: string[] = [];
  if (allowedText !== '(none)') {
    for (const part of allowedText.split(',')) {
      const c = parseCidr(part);
      if (c === null) return 'bad allowed IP';
      allowedIps.push(c.text);
    }
  }
  allowedIps.sort();
  const latestHandshakeSeconds = uint(handshake, Number.MAX_SAFE_INTEGER);
  const rxBytes = uint(rx, Number.MAX_SAFE_INTEGER);
  const txBytes = uint(tx, Number.MAX_SAFE_INTEGER);
  const persistentKeepaliveSeconds = keepalive === 'off' ? 0 : uint(keepalive, 65535);
  if (
    latestHandshakeSeconds === null ||
    rxBytes === null ||
    txBytes === null ||
    persistentKeepaliveSeconds === null
  ) {
    return 'bad counter';
  }
  return {
    publicKey,
    endpoint,
    allowedIps,
    latestHandshakeSeconds,
    rxBytes,
    txBytes,
    persistentKeepaliveSeconds,
  };
}

/** `1.2.3.4:5` or `[v6]:5` in the canonical text our peer table produces. */
export function canonicalEndpoint(text: string): string | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const ip = parseIp(m[1] ?? m[2] ?? '');
  const port = uint(m[3] as string, 65535);
  if (ip === null || port === null) return null;
  if (m[1] !== undefined && ip.family === 4) return null;
  return ip.family === 4 ? `${ip.text}:${port}` : `[${ip.text}]:${port}`;
}

function uint(text: string, max: number): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

function hex32(text: string): number | null {
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(text)) return null;
  return parseInt(text.slice(2), 16);
}

function fail(reason: string): WgDumpResult {
  return { ok: false, reason };
}
