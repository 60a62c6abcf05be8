// dikastes.Healthz: liveness proves the server answers; readiness = in sync and an endpoint known.
export interface HealthzHandlers {
  live(): boolean;
  ready(): boolean;
}

export function createHealthzHandlers(isReady: () => boolean): HealthzHandlers {
  return { live: () => true, ready: isReady };
}
