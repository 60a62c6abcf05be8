// Serves a Prometheus registry on http://<host:port>/metrics.
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Splits `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseHostPort(text: string): { host: string | undefined; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

export function startMetricsServer(addr: string, registry: Registry): Promise<MetricsServer> {
  const hp = parseHostPort(addr);
  if (hp === null) return Promise.reject(new Error(`invalid metrics address "${addr}" (want host:port)`));
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: hp.host, port: hp.port }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a !== null ? a.port : hp.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
