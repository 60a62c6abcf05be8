// Original file: /work/main/proto/dikastes/healthz.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { HealthCheckRequest as _dikastes_HealthCheckRequest, HealthCheckRequest__Output as _dikastes_HealthCheckRequest__Output } from './HealthCheckRequest.js';
import type { HealthCheckResponse as _dikastes_HealthCheckResponse, HealthCheckResponse__Output as _dikastes_HealthCheckResponse__Output } from './HealthCheckResponse.js';

export interface HealthzClient extends grpc.Client {
  CheckLiveness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  CheckLiveness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  CheckLiveness(argument: _dikastes_HealthCheckRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  CheckLiveness(argument: _dikastes_HealthCheckRequest, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkLiveness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkLiveness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkLiveness(argument: _dikastes_HealthCheckRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkLiveness(argument: _dikastes_HealthCheckRequest, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  
  CheckReadiness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  CheckReadiness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  CheckReadiness(argument: _dikastes_HealthCheckRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  CheckReadiness(argument: _dikastes_HealthCheckRequest, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkReadiness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkReadiness(argument: _dikastes_HealthCheckRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkReadiness(argument: _dikastes_HealthCheckRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  checkReadiness(argument: _dikastes_HealthCheckRequest, callback: grpc.requestCallback<_dikastes_HealthCheckResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface HealthzHandlers extends grpc.UntypedServiceImplementation {
  CheckLiveness: grpc.handleUnaryCall<_dikastes_HealthCheckRequest__Output, _dikastes_HealthCheckResponse>;
  
  CheckReadiness: grpc.handleUnaryCall<_dikastes_HealthCheckRequest__Output, _dikastes_HealthCheckResponse>;
  
}

export interface HealthzDefinition extends grpc.ServiceDefinition {
  CheckLiveness: MethodDefinition<_dikastes_HealthCheckRequest, _dikastes_HealthCheckResponse, _dikastes_HealthCheckRequest__Output, _dikastes_HealthCheckResponse__Output>
  CheckReadiness: MethodDefinition<_dikastes_HealthCheckRequest, _dikastes_HealthCheckResponse, _dikastes_HealthCheckRequest__Output, _dikastes_HealthCheckResponse__Output>
}
