// Original file: /work/main/proto/felix/felixbackend.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DataplaneStats as _felix_DataplaneStats, DataplaneStats__Output as _felix_DataplaneStats__Output } from './DataplaneStats.js';
import type { ReportResult as _felix_ReportResult, ReportResult__Output as _felix_ReportResult__Output } from './ReportResult.js';
import type { SyncRequest as _felix_SyncRequest, SyncRequest__Output as _felix_SyncRequest__Output } from './SyncRequest.js';
import type { ToDataplane as _felix_ToDataplane, ToDataplane__Output as _felix_ToDataplane__Output } from './ToDataplane.js';

export interface PolicySyncClient extends grpc.Client {
  Report(argument: _felix_DataplaneStats, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  Report(argument: _felix_DataplaneStats, metadata: grpc.Metadata, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  Report(argument: _felix_DataplaneStats, options: grpc.CallOptions, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  Report(argument: _felix_DataplaneStats, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  report(argument: _felix_DataplaneStats, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  report(argument: _felix_DataplaneStats, metadata: grpc.Metadata, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  report(argument: _felix_DataplaneStats, options: grpc.CallOptions, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  report(argument: _felix_DataplaneStats, callback: grpc.requestCallback<_felix_ReportResult__Output>): grpc.ClientUnaryCall;
  
  Sync(argument: _felix_SyncRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_felix_ToDataplane__Output>;
  Sync(argument: _felix_SyncRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_felix_ToDataplane__Output>;
  sync(argument: _felix_SyncRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_felix_ToDataplane__Output>;
  sync(argument: _felix_SyncRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_felix_ToDataplane__Output>;
  
}

export interface PolicySyncHandlers extends grpc.UntypedServiceImplementation {
  Report: grpc.handleUnaryCall<_felix_DataplaneStats__Output, _felix_ReportResult>;
  
  Sync: grpc.handleServerStreamingCall<_felix_SyncRequest__Output, _felix_ToDataplane>;
  
}

export interface PolicySyncDefinition extends grpc.ServiceDefinition {
  Report: MethodDefinition<_felix_DataplaneStats, _felix_ReportResult, _felix_DataplaneStats__Output, _felix_ReportResult__Output>
  Sync: MethodDefinition<_felix_SyncRequest, _felix_ToDataplane, _felix_SyncRequest__Output, _felix_ToDataplane__Output>
}
