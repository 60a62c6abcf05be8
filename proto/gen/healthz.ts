import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { HealthCheckRequest as _dikastes_HealthCheckRequest, HealthCheckRequest__Output as _dikastes_HealthCheckRequest__Output } from './dikastes/HealthCheckRequest.js';
import type { HealthCheckResponse as _dikastes_HealthCheckResponse, HealthCheckResponse__Output as _dikastes_HealthCheckResponse__Output } from './dikastes/HealthCheckResponse.js';
import type { HealthzClient as _dikastes_HealthzClient, HealthzDefinition as _dikastes_HealthzDefinition } from './dikastes/Healthz.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  dikastes: {
    HealthCheckRequest: MessageTypeDefinition<_dikastes_HealthCheckRequest, _dikastes_HealthCheckRequest__Output>
    HealthCheckResponse: MessageTypeDefinition<_dikastes_HealthCheckResponse, _dikastes_HealthCheckResponse__Output>
    Healthz: SubtypeConstructor<typeof grpc.Client, _dikastes_HealthzClient> & { service: _dikastes_HealthzDefinition }
  }
}

