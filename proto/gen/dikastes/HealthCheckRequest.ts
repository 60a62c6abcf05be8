// Original file: /work/main/proto/dikastes/healthz.proto


export interface HealthCheckRequest {
}

export interface HealthCheckRequest__Output {
}
