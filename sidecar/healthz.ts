// dikastes.Healthz: liveness proves the server answers; readiness = in sync and an endpoint known.
import type * as grpc from '@grpc/grpc-js';
import type { HealthzHandlers } from '../proto/gen/dikastes/Healthz.js';

export function createHealthzHandlers(isReady: () => boolean): HealthzHandlers {
  return {
    CheckLiveness: (_call, callback) => callback(null, { healthy: true }),
    CheckReadiness: (_call, callback) => callback(null, { healthy: isReady() }),
  } satisfies grpc.UntypedServiceImplementation & HealthzHandlers;
}
