// Original file: /work/main/proto/dikastes/healthz.proto


export interface HealthCheckResponse {
  'healthy'?: (boolean);
}

export interface HealthCheckResponse__Output {
  'healthy': (boolean);
}
