// Spec §7.2 #1–#61, #97, #98 (match_test.go: names, labels, methods, paths): each criterion in a
// single allow rule under a tier with default Deny and no profiles; OK when it matches.
import type { HTTPMatch } from '../../proto/gen/felix/HTTPMatch.js';
import type { DecideCase } from './decide-case.js';
import { http, request, serviceAccount, spiffe, wrapAllow } from '../wire-builders.js';

const yes = (matches: boolean): { code: number } => ({ code: matches ? 0 : 7 });

const nameCases: DecideCase[] = (
  [
    ['#1 empty names match any service account', [], 'reginald', true],
    ['#2 a listed name matches', ['susan', 'jim', 'reginald'], 'reginald', true],
    ['#3 an unlisted name does not match', ['susan', 'jim', 'reginald'], 'steven', false],
  ] as const
).map(([why, names, sa, matches]) => ({
  name: `7.2${why}`,
  messages: wrapAllow({ src_service_account_match: { names: [...names] } }),
  request: request({ src: { principal: spiffe('default', sa) } }),
  expect: yes(matches),
}));

// TestMatchLabels: the selector runs on the source service account's labels from the store.
const labelCases: DecideCase[] = (
  [
    ['#4 an empty selector matches', '', true],
    ['#5 a selector that does not parse never matches', 'not.a.real.selector', false],
    ['#6 a matching selector matches', "app == 'foo'", true],
  ] as const
).map(([why, selector, matches]) => ({
  name: `7.2${why}`,
  messages: wrapAllow({ src_service_account_match: { selector } }, [
    serviceAccount('default', 'sam', { app: 'foo', env: 'prod' }),
  ]),
  request: request({ src: { principal: spiffe('default', 'sam') } }),
  expect: yes(matches),
}));

const methodCases: DecideCase[] = (
  [
    ['#7 empty methods match', [], 'GET', true],
    ['#8 a listed method matches', ['GET', 'HEAD'], 'GET', true],
    ['#9 methods are case-sensitive', ['get', 'HEAD'], 'GET', false],
    ['#10 * matches any method', ['*'], 'MADNESS', true],
  ] as const
).map(([why, methods, method, matches]) => ({
  name: `7.2${why}`,
  messages: wrapAllow({ http_match: { methods: [...methods] } }),
  request: http(method, '/'),
  expect: yes(matches),
}));

type P = { exact: string } | { prefix: string };
const ex = (exact: string): P => ({ exact });
const pre = (prefix: string): P => ({ prefix });

const pathRows: ReadonlyArray<readonly [string, P[], string, boolean]> = [
  ['#11 empty paths match', [], '/foo', true],
  ['#12 exact matches', [ex('/foo')], '/foo', true],
  ['#13 prefix matches at a segment boundary', [pre('/foo')], '/foo/bar', true],
  ['#14 prefix must be segment-aligned', [pre('/foo')], '/foobar', false],
  ['#15 exact fails on another path', [ex('/foo')], '/joo', false],
  ['#16 exact does not match as a prefix', [ex('/foo')], '/foobar', false],
  ['#17 prefix fails on another path', [pre('/foo')], '/joobar', false],
  ['#18 several entries, none matches', [pre('/joo'), ex('/foo')], '/joobar', false],
  ['#19 several entries, one matches', [pre('/joo'), ex('/foo')], '/joo/bar', true],
  ['#20 the query is ignored for exact', [ex('/foo')], '/foo?xyz', true],
  ['#21 the fragment is ignored for exact', [ex('/foo')], '/foo#xyz', true],
  ['#22 prefix longer than the path before the query fails', [pre('/foobar')], '/foo?bar', false],
  ['#23 prefix longer than the path before the fragment fails', [pre('/foobar')], '/foo#bar', false],
  ['#24 prefix baseline', [pre('/public')], '/public', true],
  ['#25 prefix with trailing slash', [pre('/public')], '/public/', true],
  ['#26 prefix with subpath', [pre('/public')], '/public/index.html', true],
  ['#27 exact baseline', [ex('/public')], '/public', true],
  ['#28 a trailing dot segment collapses to exact', [ex('/public')], '/public/.', true],
  ['#29 dotdot escapes the prefix', [pre('/public')], '/public/../admin', false],
  ['#30 nested dotdot escapes the prefix', [pre('/public')], '/public/a/../../admin', false],
  ['#31 dotdot resolving back to exact', [ex('/public')], '/public/../public', true],
  ['#32 dotdot changes the exact path', [ex('/public/foo')], '/public/bar/../foo', true],
  ['#33 percent-encoded slash traversal', [pre('/public')], '/public%2F..%2Fadmin', false],
  ['#34 percent-encoded dots traversal', [pre('/public')], '/public/%2e%2e/admin', false],
  ['#35 percent-encoded uppercase dots', [pre('/public')], '/public/%2E%2E/admin', false],
  ['#36 percent-encoded unreserved characters decode', [ex('/public/file')], '/public/%66ile', true],
  ['#37 double slash traversal', [pre('/public')], '/public//../admin', false],
  ['#38 leading double slash', [pre('/public')], '//public', true],
  ['#39 interior double slash collapses', [pre('/public')], '/public//foo', true],
  ['#40 short prefix does not leak to a sibling', [pre('/pub')], '/public-leak-endpoint', false],
  ['#41 short prefix does not match a longer segment', [pre('/pub')], '/public', false],
  ['#42 short prefix matches its own segment', [pre('/pub')], '/pub', true],
  ['#43 short prefix matches a deeper segment', [pre('/pub')], '/pub/x', true],
  ['#44 query stripped, then normalised', [pre('/public')], '/public/../admin?x=1', false],
  ['#45 fragment stripped, then normalised', [pre('/public')], '/public/../admin#frag', false],
  ['#46 backslash traversal escapes the prefix', [pre('/public')], '/public\\..\\admin', false],
  ['#47 backslash mixed with slash', [pre('/public')], '/public/..\\admin', false],
  ['#48 percent-encoded backslash traversal', [pre('/public')], '/public%5C..%5Cadmin', false],
  ['#49 backslash inside a segment stays under the prefix', [pre('/public')], '/public/foo\\bar', true],
  ['#50 matrix parameter on dotdot escapes the prefix', [pre('/public')], '/public/..;x/admin', false],
  ['#51 jsessionid on dotdot', [pre('/public')], '/public/..;jsessionid=abc/admin', false],
  ['#52 percent-encoded semicolon on dotdot', [pre('/public')], '/public/..%3Bx/admin', false],
  [
    '#53 matrix parameter on the leaf stays under the prefix',
    [pre('/public')],
    '/public/foo;jsessionid=abc',
    true,
  ],
  ['#54 matrix parameter on a middle segment', [pre('/public')], '/public/foo;x=1/bar', true],
  ['#55 double-encoded dotdot rejected', [pre('/public')], '/public/%252e%252e/admin', false],
  ['#56 double-encoded slash rejected', [pre('/public')], '/public%252fadmin', false],
  ['#57 double-encoded backslash rejected', [pre('/public')], '/public%255c..%255cadmin', false],
  ['#58 deep double-encoded dot rejected', [pre('/public')], '/public/%25%32%65%25%32%65/admin', false],
  ['#59 percent-null in traversal rejected', [pre('/public')], '/public%00/admin', false],
  ['#60 percent-null mid-segment rejected', [pre('/public')], '/public/foo%00bar', false],
  ['#61 raw NUL byte rejected', [pre('/public')], '/public/foo\u0000', false],
];

const pathCases: DecideCase[] = pathRows.map(([why, paths, path, matches]) => {
  const httpMatch: HTTPMatch = { paths };
  return {
    name: `7.2${why}`,
    messages: wrapAllow({ http_match: httpMatch }),
    request: http('GET', path),
    expect: yes(matches),
  };
});

export const matchPeerHttpCases: DecideCase[] = [
  ...nameCases,
  ...labelCases,
  ...methodCases,
  ...pathCases,
  {
    name: '7.2#97 no http_match and no request.http match',
    messages: wrapAllow({}),
    request: request(),
    expect: { code: 0 },
  },
  {
    name: '7.2#97 a rule with methods and paths matches a request without request.http',
    messages: wrapAllow({ http_match: { methods: ['GET'], paths: [{ exact: '/foo' }] } }),
    request: request(),
    expect: { code: 0 },
  },
  {
    name: '7.2#98 a path without a leading / against exact /foo is INVALID_ARGUMENT',
    messages: wrapAllow({ http_match: { paths: [{ exact: '/foo' }] } }),
    request: http('GET', 'foo'),
    expect: { code: 3, message: 'Invalid HTTP Path "foo"' },
  },
];
