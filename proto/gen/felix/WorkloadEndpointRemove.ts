// Original file: /work/main/proto/felix/felixbackend.proto

import type { WorkloadEndpointID as _felix_WorkloadEndpointID, WorkloadEndpointID__Output as _felix_WorkloadEndpointID__Output } from './WorkloadEndpointID.js';

export interface WorkloadEndpointRemove {
  'id'?: (_felix_WorkloadEndpointID | null);
}

export interface WorkloadEndpointRemove__Output {
  'id': (_felix_WorkloadEndpointID__Output | null);
}
