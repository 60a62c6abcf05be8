// SPIFFE ids of Kubernetes service accounts, as Istio issues them and Dikastes reads them:
// `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.

export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export type SpiffeParseResult =
  { readonly ok: true; readonly id: SpiffeId } | { readonly ok: false; readonly reason: string };

// Anchored at both ends; each part is at least one character other than `/`, as in Calico's
// SPIFFEIDPattern (spec §5.2). Without the `m` flag, `$` matches only at the very end.
const SPIFFE_PATTERN = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** Parses a workload principal; anything but the exact shape above is rejected with a reason. */
export function parseSpiffeId(text: string): SpiffeParseResult {
  const m = SPIFFE_PATTERN.exec(text);
  if (m === null) {
    return { ok: false, reason: 'expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>' };
  }
  return { ok: true, id: { trustDomain: m[1] ?? '', namespace: m[2] ?? '', serviceAccount: m[3] ?? '' } };
}
