// Plays Envoy's part: a real ext_authz v3 gRPC client over the sidecar's Unix socket. (We cannot
// run Envoy here; what Envoy does with the answer is documented in spec §4.7.)
import * as grpc from '@grpc/grpc-js';
import { loadExtAuthz, loadHealthz } from '../../proto/load.js';
import type { CheckRequest } from '../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { CheckResponse__Output } from '../../proto/gen/envoy/service/auth/v3/CheckResponse.js';
import type { AuthorizationClient } from '../../proto/gen/envoy/service/auth/v3/Authorization.js';
import type { HealthzClient } from '../../proto/gen/dikastes/Healthz.js';

export class EnvoyStandIn {
  readonly authz: AuthorizationClient;
  readonly healthz: HealthzClient;

  /** `address` is a Unix socket path, or `host:port` with `transport` 'tcp'. */
  constructor(address: string, transport: 'unix' | 'tcp' = 'unix') {
    const { Authorization } = loadExtAuthz().envoy.service.auth.v3;
    const { Healthz } = loadHealthz().dikastes;
    const target = transport === 'unix' ? `unix:${address}` : address;
    this.authz = new Authorization(target, grpc.credentials.createInsecure());
    this.healthz = new Healthz(target, grpc.credentials.createInsecure());
  }

  check(request: CheckRequest, timeoutMs = 5_000): Promise<CheckResponse__Output> {
    return new Promise((resolve, reject) =>
      this.authz.Check(request, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
        err !== null || res === undefined ? reject(err ?? new Error('no response')) : resolve(res),
      ),
    );
  }

  ready(): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.healthz.CheckReadiness({}, (err, res) =>
        err !== null || res === undefined ? reject(err) : resolve(res.healthy),
      ),
    );
  }

  close(): void {
    this.authz.close();
    this.healthz.close();
  }
}

/** A request as Envoy's HTTP filter sends it for an inbound call. */
export function httpCheckRequest(opts: {
  sourcePrincipal?: string;
  sourceIp?: string;
  sourcePort?: number;
  destinationPrincipal?: string;
  destinationIp?: string;
  destinationPort?: number;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}): CheckRequest {
  return {
    attributes: {
      source: {
        principal: opts.sourcePrincipal ?? '',
        address: {
          socket_address: { address: opts.sourceIp ?? '192.0.2.10', port_value: opts.sourcePort ?? 45000 },
        },
      },
      destination: {
        principal: opts.destinationPrincipal ?? '',
        address: {
          socket_address: {
            address: opts.destinationIp ?? '198.51.100.20',
            port_value: opts.destinationPort ?? 8080,
          },
        },
      },
      request: {
        http: { method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers ?? {} },
      },
    },
  };
}
