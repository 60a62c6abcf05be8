// HTTP path normalisation (spec §5.8, §7.2 rows 62–96): results are byte strings, or null on failure.
import { describe, expect, it } from 'vitest';
import {
  normalizeHttpPath,
  normalizeHttpPathBytes,
  normalizeHttpPathCached,
  toByteString,
} from './http-path.js';

// [rule, input, expected byte string or null]
const VECTORS: [string, string, string | null][] = [
  // §7.2 rows 62–95
  ['root', '/', '/'],
  ['plain', '/public', '/public'],
  ['trailing slash stripped', '/public/', '/public'],
  ['single dot segment', '/public/.', '/public'],
  ['dotdot resolved', '/public/../admin', '/admin'],
  ['nested dotdot resolved', '/public/a/../../admin', '/admin'],
  ['dotdot above root clamped', '/..', '/'],
  ['repeated slash collapsed', '/public//foo', '/public/foo'],
  ['leading repeated slash collapsed', '//public', '/public'],
  ['percent-encoded slash decoded', '/public%2F..%2Fadmin', '/admin'],
  ['percent-encoded dot decoded', '/public/%2e%2e/admin', '/admin'],
  ['percent-encoded unreserved decoded', '/public/%66ile', '/public/file'],
  ['query stripped before decode', '/public/../admin?q=1', '/admin'],
  ['fragment stripped before decode', '/public/../admin#x', '/admin'],
  ['encoded query marker stays literal', '/public%3Ffoo', '/public?foo'],
  ['backslash converted to slash', '/public/..\\admin', '/admin'],
  ['only backslash separators', '\\public\\..\\admin', '/admin'],
  ['percent-encoded backslash decoded and normalised', '/public%5C..%5Cadmin', '/admin'],
  ['matrix param on leaf stripped', '/public/foo;x=1', '/public/foo'],
  ['matrix param jsessionid stripped', '/public/foo;jsessionid=abc', '/public/foo'],
  ['matrix param on dotdot resolves traversal', '/public/..;x/admin', '/admin'],
  ['matrix param on every segment stripped', '/a;p=1/b;q=2/c;r=3', '/a/b/c'],
  ['percent-encoded semicolon stripped', '/public/..%3Bx/admin', '/admin'],
  ['double percent-encoded dot rejected', '/public/%252e%252e/admin', null],
  ['double percent-encoded slash rejected', '/public%252fadmin', null],
  ['double percent-encoded backslash rejected', '/public%255c..%255cadmin', null],
  ['deep double-encoded dot rejected', '/public/%25%32%65%25%32%65/admin', null],
  ['mixed-case double-encoded dot rejected', '/public/%252E%252E/admin', null],
  ['percent-null rejected', '/public%00/admin', null],
  ['raw null byte rejected', '/public/foo\0bar', null],
  ['invalid percent escape rejected', '/%XY/admin', null],
  ['non-absolute rejected', 'relative/path', null],
  ['absolute URI form rejected', 'http://example.com/admin', null],
  ['empty rejected', '', null],
  // §5.8 further cases confirmed against Go
  ['encoded space decoded', '/a%20b', '/a b'],
  ['plus is left alone', '/a+b', '/a+b'],
  ['encoded percent decodes to a lone %', '/%25', '/%'],
  ['encoded %25 survives once, accepted', '/a/%2525', '/a/%25'],
  ['encoded byte 0xff stays one byte', '/%ff', '/\xff'],
  ['a % needs two hex digits', '/a%', null],
  ['a % needs two hex digits (one given)', '/a%f', null],
  ['query cut before dot segments', '/a?b/../c', '/a'],
  ['fragment before query', '/a#b?c', '/a'],
  // more from §5.8 and the matcher rows
  ['the public prefix example', '/public/../admin', '/admin'],
  ['trailing dot segments', '/public/./././foo', '/public/foo'],
  ['a leading encoded slash only works after decoding', '%2Fadmin', '/admin'],
  ['a segment that is only params disappears', '/;x/a', '/a'],
  ['params on the last segment after a slash', '/a/;x', '/a'],
  ['dots inside names are kept', '/a/..b/c.', '/a/..b/c.'],
  ['encoded dotdot at the root clamps', '/%2e%2e/admin', '/admin'],
  ['backslash inside a segment becomes a separator', '/public/foo\\bar', '/public/foo/bar'],
  ['non-ASCII is compared as UTF-8 bytes', '/é', '/\xc3\xa9'],
  ['encoded UTF-8 equals the raw UTF-8', '/%C3%A9', '/\xc3\xa9'],
];

describe('normalizeHttpPath', () => {
  it.each(VECTORS)('%s: %j', (_rule, input, expected) => {
    expect(normalizeHttpPath(input)).toBe(expected);
  });

  it('the bytes variant skips UTF-8 encoding of input that is already bytes', () => {
    expect(normalizeHttpPathBytes('/\xc3\xa9/../x')).toBe('/x');
    expect(normalizeHttpPathBytes(toByteString('/é'))).toBe(normalizeHttpPath('/é'));
    expect(toByteString('/plain')).toBe('/plain');
  });

  it('the cached variant answers as the plain one, first and second time, past its bound too', () => {
    for (let round = 0; round < 2; round++)
      for (const [, input, expected] of VECTORS) expect(normalizeHttpPathCached(input)).toBe(expected);
    for (let i = 0; i < 3000; i++) expect(normalizeHttpPathCached(`/a/${i}/../b`)).toBe(`/a/b`);
    const long = `/${'x/'.repeat(200)}..`;
    expect(normalizeHttpPathCached(long)).toBe(normalizeHttpPath(long));
  });
});

// Row 96: whenever normalisation succeeds, the result is rooted and clean. Idempotence is not
// required (e.g. /%2525 → /%25 → /%).
function isClean(path: string): boolean {
  if (!path.startsWith('/') || path.includes('\\') || path.includes('//')) return false;
  return path.split('/').every((seg) => seg !== '.' && seg !== '..');
}

describe('normalizeHttpPath fuzz (row 96)', () => {
  const SEEDS = [
    '/public',
    '/public/',
    '/public/index.html',
    '/public/../admin',
    '/public%2F..%2Fadmin',
    '/public//../admin',
    '/public-leak',
    '/public/%2e%2e/admin',
    '/public/..\\admin',
    '/public%5C..%5Cadmin',
    '/public/%252e%252e/admin',
    '/%2e%2e/admin',
    '/public/foo%00bar',
    '/public/.',
    '/public/./././foo',
  ];
  const PIECES = [
    '/',
    '/',
    '.',
    '..',
    '\\',
    '%',
    '%2e',
    '%2E',
    '%2f',
    '%5c',
    '%25',
    '%3b',
    '%3f',
    '%00',
    '%ff',
    ';',
    ';x=1',
    '?',
    '#',
    'a',
    'public',
    '%',
    '2',
    'e',
    'é',
    '😀',
    '\0',
    ' ',
    '+',
  ];

  it('seeds and their mutations never throw and always come out clean', () => {
    let seed = 96;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const inputs = [...SEEDS];
    for (let i = 0; i < 3000; i++) {
      const base = SEEDS[rand(SEEDS.length)] as string;
      const at = rand(base.length + 1);
      const insert = Array.from({ length: 1 + rand(4) }, () => PIECES[rand(PIECES.length)]).join('');
      const mutated = base.slice(0, at) + insert + base.slice(at + rand(3));
      inputs.push(mutated.startsWith('/') ? mutated : `/${mutated}`);
    }
    let succeeded = 0;
    for (const input of inputs) {
      const out = normalizeHttpPath(input);
      if (out === null) continue;
      succeeded++;
      expect(isClean(out), `${JSON.stringify(input)} → ${JSON.stringify(out)}`).toBe(true);
      for (let i = 0; i < out.length; i++) expect(out.charCodeAt(i)).toBeLessThan(256);
    }
    expect(succeeded).toBeGreaterThan(1000);
  });
});
