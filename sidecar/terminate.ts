// Optional HTTP `/terminate` endpoint (DIKASTES_HTTP_BIND_PORT / _ADDR), used by preStop hooks to
// stop Dikastes after Envoy has drained. Any method, as in Calico; any other path is 404.
import { createServer, type Server } from 'node:http';
import { isIPv6 } from 'node:net';
import { parseIp } from '../calico/ip.js';

export interface TerminateBind {
  readonly port: number;
  /** '' binds every interface, as Calico does. */
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
  if (address !== '' && parseIp(address) === null) {
    return { ok: false, error: `invalid HTTP bind address "${address}"` };
  }
  return { ok: true, bind: { port, address } };
}

export interface TerminateServer {
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
  const host = bind.address === '' ? undefined : bind.address;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: bind.port, host, ipv6Only: host !== undefined && isIPv6(host) }, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr !== null ? addr.port : bind.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
