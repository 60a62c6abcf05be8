// Spec §7.2 #62–#95 (TestNormalizeHTTPPath) and the further vectors of §5.8, black-box: a request
// whose path normalises to R is allowed by a rule `exact R`; one whose normalisation fails matches
// not even `prefix /`; one without a leading `/` is INVALID_ARGUMENT.
import type { DecideCase } from './decide-case.js';
import { http, wrapAllow } from '../wire-builders.js';

/** A rule path that normalises to `bytes`: escape what normalisation would cut, decode or reject. */
function ruleEncoding(bytes: string): string {
  let out = '';
  for (const ch of bytes) {
    const c = ch.charCodeAt(0);
    out +=
      c < 0x21 || c > 0x7e || ch === '%' || ch === '?' || ch === '#'
        ? `%${c.toString(16).padStart(2, '0')}`
        : ch;
  }
  return out;
}

const FAIL = null;

// [row, request path, normalised result (a byte string) or FAIL]
const vectors: ReadonlyArray<readonly [string, string, string | null]> = [
  ['#62 root', '/', '/'],
  ['#63 plain', '/public', '/public'],
  ['#64 trailing slash stripped', '/public/', '/public'],
  ['#65 single dot segment', '/public/.', '/public'],
  ['#66 dotdot resolved', '/public/../admin', '/admin'],
  ['#67 nested dotdot resolved', '/public/a/../../admin', '/admin'],
  ['#68 dotdot above root clamped', '/..', '/'],
  ['#69 repeated slash collapsed', '/public//foo', '/public/foo'],
  ['#70 leading repeated slash collapsed', '//public', '/public'],
  ['#71 percent-encoded slash decoded', '/public%2F..%2Fadmin', '/admin'],
  ['#72 percent-encoded dot decoded', '/public/%2e%2e/admin', '/admin'],
  ['#73 percent-encoded unreserved decoded', '/public/%66ile', '/public/file'],
  ['#74 query stripped before decode', '/public/../admin?q=1', '/admin'],
  ['#75 fragment stripped before decode', '/public/../admin#x', '/admin'],
  ['#76 encoded query marker stays literal', '/public%3Ffoo', '/public?foo'],
  ['#77 backslash converted to slash', '/public/..\\admin', '/admin'],
  ['#79 percent-encoded backslash decoded and normalised', '/public%5C..%5Cadmin', '/admin'],
  ['#80 matrix parameter on leaf stripped', '/public/foo;x=1', '/public/foo'],
  ['#81 jsessionid stripped', '/public/foo;jsessionid=abc', '/public/foo'],
  ['#82 matrix parameter on dotdot resolves traversal', '/public/..;x/admin', '/admin'],
  ['#83 matrix parameters on every segment stripped', '/a;p=1/b;q=2/c;r=3', '/a/b/c'],
  ['#84 percent-encoded semicolon stripped', '/public/..%3Bx/admin', '/admin'],
  ['#85 double percent-encoded dot rejected', '/public/%252e%252e/admin', FAIL],
  ['#86 double percent-encoded slash rejected', '/public%252fadmin', FAIL],
  ['#87 double percent-encoded backslash rejected', '/public%255c..%255cadmin', FAIL],
  ['#88 deep double-encoded dot rejected', '/public/%25%32%65%25%32%65/admin', FAIL],
  ['#89 mixed-case double-encoded dot rejected', '/public/%252E%252E/admin', FAIL],
  ['#90 percent-null rejected', '/public%00/admin', FAIL],
  ['#91 raw NUL byte rejected', '/public/foo\u0000bar', FAIL],
  ['#92 invalid percent escape rejected', '/%XY/admin', FAIL],
  ['§5.8 space decoded', '/a%20b', '/a b'],
  ['§5.8 plus left alone', '/a+b', '/a+b'],
  ['§5.8 %25 decodes to %', '/%25', '/%'],
  ['§5.8 %2525 decodes once and is accepted', '/a/%2525', '/a/%25'],
  ['§5.8 %ff gives the byte 0xff', '/%ff', '/\u00ff'],
  ['§5.8 a trailing lone % fails', '/a%', FAIL],
  ['§5.8 query cut before dot segments', '/a?b/../c', '/a'],
];

// Raw paths without a leading `/`: normalisation would fail (or, for #78, succeed), but a Check
// stops earlier with INVALID_ARGUMENT (spec §5.8).
const notAbsolute: ReadonlyArray<readonly [string, string]> = [
  ['#78 only backslash separators', '\\public\\..\\admin'],
  ['#93 non-absolute', 'relative/path'],
  ['#94 absolute URI form', 'http://example.com/admin'],
  ['#95 empty', ''],
];

export const pathNormalisationCases: DecideCase[] = [
  ...vectors.map(([why, path, result]): DecideCase => {
    if (result === FAIL) {
      return {
        name: `7.2${why}: not even prefix / matches`,
        messages: wrapAllow({ http_match: { paths: [{ prefix: '/' }] } }),
        request: http('GET', path),
        expect: { code: 7 },
      };
    }
    return {
      name: `7.2${why}: exact ${JSON.stringify(result)} matches`,
      messages: wrapAllow({ http_match: { paths: [{ exact: ruleEncoding(result) }] } }),
      request: http('GET', path),
      expect: { code: 0 },
    };
  }),
  ...notAbsolute.map(([why, path]): DecideCase => ({
    name: `7.2${why}: INVALID_ARGUMENT in a Check`,
    messages: wrapAllow({ http_match: { paths: [{ prefix: '/' }] } }),
    request: http('GET', path),
    expect: { code: 3, message: `Invalid HTTP Path "${path}"` },
  })),
];
