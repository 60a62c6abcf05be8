// Calico's HTTP path normalisation (spec §5.8), done on bytes as Go does.
//
// Paths are handled as "byte strings": one char per byte (latin1), so percent-decoding can yield
// any byte and comparisons are byte comparisons, exactly like Go strings.

/**
 * Normalises a path as Envoy delivered it (a JS string; its UTF-8 bytes are what Go would see).
 * Returns a byte string, or null when normalisation fails.
 */
export function normalizeHttpPath(raw: string): string | null {
  return normalizeHttpPathBytes(toByteString(raw));
}

// Requests repeat their paths; normalising one is a few microseconds of string work, a Map hit is
// not. A pure function of its input, so a cached answer is the same answer. Bounded: starts over
// when full.
const MAX_CACHED_PATHS = 1024;
const MAX_CACHED_PATH_LENGTH = 256;
const normalized = new Map<string, string | null>();

/** normalizeHttpPath, remembering the answers for short paths. */
export function normalizeHttpPathCached(raw: string): string | null {
  let out = normalized.get(raw);
  if (out === undefined) {
    out = normalizeHttpPath(raw);
    if (raw.length <= MAX_CACHED_PATH_LENGTH) {
      if (normalized.size >= MAX_CACHED_PATHS) normalized.clear();
      normalized.set(raw, out);
    }
  }
  return out;
}

/** The UTF-8 bytes of a string, one char per byte. ASCII strings are returned as they are. */
export function toByteString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return Buffer.from(text, 'utf8').toString('latin1');
  }
  return text;
}

// After one decode, a surviving %2e, %2f or %5c means the input was double-encoded; an upstream that
// decodes twice would see a different path than the one authorised.
const STILL_ENCODED = /%(2e|2f|5c)/i;

/** normalizeHttpPath on input that is already a byte string (every char ≤ 0xff). */
export function normalizeHttpPathBytes(bytes: string): string | null {
  // 1. Query and fragment go before decoding, so an encoded %3F stays part of the path.
  const cut = bytes.search(/[?#]/);
  const p = cut >= 0 ? bytes.slice(0, cut) : bytes;
  // 2–4. Decode once; reject double-encoding and NUL (C-string upstreams stop at NUL).
  let decoded = percentDecode(p);
  if (decoded === null || STILL_ENCODED.test(decoded) || decoded.includes('\0')) return null;
  // 5–6. Some backends (IIS) accept \ as a separator, so fold it before resolving dot segments.
  if (decoded.includes('\\')) decoded = decoded.replaceAll('\\', '/');
  if (!decoded.startsWith('/')) return null;
  // 7–8. Servlet containers drop ";params" per segment before dispatch, then dot segments resolve.
  return cleanPath(decoded.split('/'), decoded.includes(';'));
}

/** Go's url.PathUnescape: every % must be followed by two hex digits; `+` stays as it is. */
function percentDecode(s: string): string | null {
  if (!s.includes('%')) return s;
  let out = '';
  let start = 0;
  for (let i = s.indexOf('%'); i >= 0; i = s.indexOf('%', start)) {
    const hi = hexValue(s.charCodeAt(i + 1));
    const lo = hexValue(s.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    out += s.slice(start, i) + String.fromCharCode(hi * 16 + lo);
    start = i + 3;
  }
  return out + s.slice(start);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1; // also NaN past the end
}

/**
 * Go's path.Clean for a rooted path, given its `/`-separated segments: empty and `.` segments go,
 * `..` removes the previous segment (or nothing at the root), no trailing `/` except for the root.
 */
function cleanPath(segments: readonly string[], stripParams: boolean): string {
  const kept: string[] = [];
  for (let seg of segments) {
    if (stripParams) {
      const semi = seg.indexOf(';');
      if (semi >= 0) seg = seg.slice(0, semi);
    }
    if (seg === '' || seg === '.') continue;
    if (seg === '..') kept.pop();
    else kept.push(seg);
  }
  return '/' + kept.join('/');
}
