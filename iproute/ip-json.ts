// Reading iproute2's JSON output (`ip -j …`), the part every reader shares: the document must be
// an array, each entry an object. What an entry means (a link, a route, a rule) is the caller's.
// Untrusted text: never throws; a malformed document is a rejection, a malformed entry is skipped.
import { asRecord } from '../calico/spec-fields.js';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * The entries `each` makes of the document's objects, in order; `each` returns null to skip one.
 * Empty output is an empty list: some iproute2 versions print nothing at all for an empty table.
 */
export function parseIpJson<T>(text: string, each: (e: Record<string, unknown>) => T | null): Parsed<T[]> {
  let doc: unknown;
  try {
    doc = text.trim() === '' ? [] : JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!Array.isArray(doc)) return { ok: false, reason: 'not a JSON array' };
  const out: T[] = [];
  for (const item of doc) {
    const e = asRecord(item);
    if (e === null) continue;
    const v = each(e);
    if (v !== null) out.push(v);
  }
  return { ok: true, value: out };
}
