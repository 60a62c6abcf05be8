// Reading typed fields out of untrusted resource JSON (YAML files, the API server) without
// throwing: each reader returns a usable default and records what was wrong in `issues`, so one
// pass reports every problem of a resource at once.

export type JsonRecord = Readonly<Record<string, unknown>>;

/** Problems found while reading one resource, each prefixed with the field path. */
export type Issues = string[];

export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string field; '' when absent or null. */
export function readString(obj: JsonRecord, key: string, path: string, issues: Issues): string {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') {
    issues.push(`${path}.${key}: must be a string`);
    return '';
  }
  return v;
}

/** A number field (a numeric string is accepted, as YAML authors write `order: "100"` too); null when absent. */
export function readNumber(obj: JsonRecord, key: string, path: string, issues: Issues): number | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    issues.push(`${path}.${key}: must be a number`);
    return null;
  }
  return n;
}

export function readBoolean(obj: JsonRecord, key: string, path: string, issues: Issues): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') {
    issues.push(`${path}.${key}: must be true or false`);
    return false;
  }
  return v;
}

/** An object field; null when absent. */
export function readRecord(obj: JsonRecord, key: string, path: string, issues: Issues): JsonRecord | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) {
    issues.push(`${path}.${key}: must be an object`);
    return null;
  }
  return v;
}

/** A list field; [] when absent. Elements are returned unchecked. */
export function readArray(obj: JsonRecord, key: string, path: string, issues: Issues): readonly unknown[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    issues.push(`${path}.${key}: must be a list`);
    return [];
  }
  return v;
}

export function readStringArray(obj: JsonRecord, key: string, path: string, issues: Issues): string[] {
  const out: string[] = [];
  readArray(obj, key, path, issues).forEach((v, i) => {
    if (typeof v === 'string') out.push(v);
    else issues.push(`${path}.${key}[${i}]: must be a string`);
  });
  return out;
}

/** A map of string to string (labels, annotations); {} when absent. */
export function readStringMap(
  obj: JsonRecord,
  key: string,
  path: string,
  issues: Issues,
): Readonly<Record<string, string>> {
  const rec = readRecord(obj, key, path, issues);
  if (rec === null) return {};
  // The object itself when it is all strings, as the API server's always are: a copy of every
  // pod's labels and annotations was most of what reading a pod cost at start-up.
  let isAllStrings = true;
  for (const k in rec) if (typeof rec[k] !== 'string') isAllStrings = false;
  if (isAllStrings) return rec as Readonly<Record<string, string>>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (typeof v === 'string') out[k] = v;
    else issues.push(`${path}.${key}.${k}: must be a string`);
  }
  return out;
}

// Lenient readers for wire and tool output (proto-loader objects, `ip -j` JSON), where an absent
// or mistyped field reads as empty, as Go's getters do, and the caller decides what empty means.

/** The string, or '' when `v` is not one. */
export function asString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The string, or null when `v` is not one. */
export function asStringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** The object, or null when `v` is not a plain object. */
export function asRecord(v: unknown): JsonRecord | null {
  return isRecord(v) ? v : null;
}

/** `obj[key]` when `obj` is a plain object; undefined otherwise. */
export function fieldOf(obj: unknown, key: string): unknown {
  return isRecord(obj) ? obj[key] : undefined;
}

/** The array's elements, or [] when `v` is not an array. Elements are returned unchecked. */
export function asList<T>(v: unknown): (T | null)[] {
  return Array.isArray(v) ? (v as (T | null)[]) : [];
}
