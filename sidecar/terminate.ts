// Optional HTTP `/terminate` endpoint (DIKASTES_HTTP_BIND_PORT / _ADDR), used by preStop hooks to
// stop Dikastes after Envoy has drained. Any method, as in Calico; any other path is 404.
// Unlike Dikastes, which listens on every interface unless told otherwise (spec dikastes.md §1.3),
// the default is 127.0.0.1: the endpoint has no authentication, and a preStop hook runs in the pod.
import { createServer, type Server } from 'node:http';
import { isIPv6 } from 'node:net';
import { parseIp } from '../calico/ip.js';

/** Where the endpoint listens when DIKASTES_HTTP_BIND_ADDR is unset or empty. */
export const DEFAULT_TERMINATE_ADDRESS = '127.0.0.1';

/** How long a request being answered may keep the endpoint open at shutdown. */
const CLOSE_GRACE_MS = 1_000;

export interface TerminateBind {
  readonly port: number;
  /** An IP literal, e.g. `0.0.0.0` for every IPv4 interface. */
  readonly address: string;
}

export type TerminateConfig = { ok: true; bind: TerminateBind | null } | { ok: false; error: string };

/** Validates the environment the way Dikastes does, plus an upper bound on the port. */
export function terminateConfigFromEnv(env: Readonly<Record<string, string | undefined>>): TerminateConfig {
  const portText = env.DIKASTES_HTTP_BIND_PORT ?? '';
  if (portText === '') return { ok: true, bind: null };
  // Go's strconv.Atoi: optional sign, decimal digits.
  if (!/^[+-]?\d+$/.test(portText)) {
    return { ok: false, error: `error parsing provided HTTP listen port "${portText}"` };
  }
  const port = Number(portText);
  if (port < 1) {
    return {
      ok: false,
      error: `please provide non-zero, non-negative port number for HTTP listening port, got ${portText}`,
    };
  }
  // Unlike Dikastes, which only fails later when listening, reject impossible ports up front.
  if (port > 65535) return { ok: false, error: `HTTP listen port ${portText} is above 65535` };
  const address = env.DIKASTES_HTTP_BIND_ADDR ?? '';
  if (address === '') return { ok: true, bind: { port, address: DEFAULT_TERMINATE_ADDRESS } };
  if (parseIp(address) === null) return { ok: false, error: `invalid HTTP bind address "${address}"` };
  return { ok: true, bind: { port, address } };
}

export interface TerminateServer {
  /** The address and port actually bound. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the endpoint; `onTerminate` runs at most once per request. */
export function startTerminateServer(bind: TerminateBind, onTerminate: () => void): Promise<TerminateServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/terminate') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('terminating Dikastes\n');
    onTerminate();
  });
  const host = bind.address;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: bind.port, host, ipv6Only: isIPv6(host) }, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({
        address: typeof addr === 'object' && addr !== null ? addr.address : host,
        port: typeof addr === 'object' && addr !== null ? addr.port : bind.port,
        // The answer to the /terminate request that stops us is let finish, for a moment.
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
          }),
      });
    });
  });
}
