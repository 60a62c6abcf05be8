// Original file: /work/main/proto/felix/felixbackend.proto

import type { WorkloadEndpointID as _felix_WorkloadEndpointID, WorkloadEndpointID__Output as _felix_WorkloadEndpointID__Output } from './WorkloadEndpointID.js';
import type { WorkloadEndpoint as _felix_WorkloadEndpoint, WorkloadEndpoint__Output as _felix_WorkloadEndpoint__Output } from './WorkloadEndpoint.js';

export interface WorkloadEndpointUpdate {
  'id'?: (_felix_WorkloadEndpointID | null);
  'endpoint'?: (_felix_WorkloadEndpoint | null);
}

export interface WorkloadEndpointUpdate__Output {
  'id': (_felix_WorkloadEndpointID__Output | null);
  'endpoint': (_felix_WorkloadEndpoint__Output | null);
}
