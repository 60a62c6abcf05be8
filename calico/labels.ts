// Label maps as every Calico selector sees them: pods, namespaces, service accounts.

/** Read-only label map. Wire maps (plain objects) are converted once, at the boundary. */
export type Labels = ReadonlyMap<string, string>;

export const NO_LABELS: Labels = new Map();

/** Converts a wire or API label object into a Labels map, dropping non-string values. */
export function labelsFromObject(obj: Readonly<Record<string, unknown>> | null | undefined): Labels {
  if (obj == null) return NO_LABELS;
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') out.set(k, v);
  return out;
}
