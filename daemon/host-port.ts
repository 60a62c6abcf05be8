// `host:port` listen addresses (--listen-tcp, --metrics-addr), checked once on the command line so
// that a typo is a usage error rather than a daemon that fails half-way through starting.
import { isIP } from 'node:net';

export interface HostPort {
  /** An IP literal or a DNS name; undefined listens on every interface. */
  readonly host: string | undefined;
  /** 0 asks the kernel for a free port. */
  readonly port: number;
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

export const HOST_PORT_FORMS = 'host:port, [ipv6]:port or :port, with a port from 0 to 65535';

/** Splits `host:port`, `[v6]:port` or `:port` (all interfaces); null if it is none of these. */
export function parseHostPort(text: string): HostPort | null {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const [, bracketed, plain = ''] = m;
  if (bracketed !== undefined) return isIP(bracketed) === 6 ? { host: bracketed, port } : null;
  if (plain === '') return { host: undefined, port };
  return isIP(plain) === 4 || HOST_NAME.test(plain) ? { host: plain, port } : null;
}

/** The address as grpc-js takes it: IPv6 in brackets, and `[::]` for every interface. */
export function grpcListenTarget(addr: HostPort): string {
  const host = addr.host ?? '::';
  return `${isIP(host) === 6 ? `[${host}]` : host}:${addr.port}`;
}
