// Serves a Prometheus registry on http://<host:port>/metrics.
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { HOST_PORT_FORMS, parseHostPort } from './host-port.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startMetricsServer(addr: string, registry: Registry): Promise<MetricsServer> {
  const hp = parseHostPort(addr);
  if (hp === null)
    return Promise.reject(new Error(`invalid metrics address "${addr}" (want ${HOST_PORT_FORMS})`));
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
