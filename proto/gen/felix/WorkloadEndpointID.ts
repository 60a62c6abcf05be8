// Original file: /work/main/proto/felix/felixbackend.proto


export interface WorkloadEndpointID {
  'orchestrator_id'?: (string);
  'workload_id'?: (string);
  'endpoint_id'?: (string);
}

export interface WorkloadEndpointID__Output {
  'orchestrator_id': (string);
  'workload_id': (string);
  'endpoint_id': (string);
}
