import { describe, expect, it } from 'vitest';
import { parseSpiffeId } from './spiffe.js';

describe('parseSpiffeId', () => {
  it.each([
    [
      'a service-account id parses',
      'spiffe://cluster.local/ns/sandwich/sa/bacon',
      { trustDomain: 'cluster.local', namespace: 'sandwich', serviceAccount: 'bacon' },
    ],
    [
      "Calico's requestcache example parses",
      'spiffe://foo.bar.com/ns/sandwich/sa/bacon',
      { trustDomain: 'foo.bar.com', namespace: 'sandwich', serviceAccount: 'bacon' },
    ],
    [
      'parts may hold any character but /',
      'spiffe://td:8443/ns/a b/sa/ü-1',
      { trustDomain: 'td:8443', namespace: 'a b', serviceAccount: 'ü-1' },
    ],
    // Go's `$` (no multiline flag) matches only at the end, and `[^/]` matches a newline too.
    [
      'a trailing newline belongs to the service account, as in Go',
      'spiffe://td/ns/a/sa/b\n',
      { trustDomain: 'td', namespace: 'a', serviceAccount: 'b\n' },
    ],
  ])('%s', (_why, text, id) => {
    expect(parseSpiffeId(text)).toEqual({ ok: true, id });
  });

  it.each([
    ['the empty string is not an id', ''],
    ['a bare trust domain is not an id', 'spiffe://malformed'],
    ['another scheme is refused', 'http://cluster.local/ns/a/sa/b'],
    ['the scheme is case-sensitive', 'SPIFFE://cluster.local/ns/a/sa/b'],
    ['an empty trust domain is refused', 'spiffe:///ns/a/sa/b'],
    ['an empty namespace is refused', 'spiffe://td/ns//sa/b'],
    ['an empty service account is refused', 'spiffe://td/ns/a/sa/'],
    ['a trailing slash is refused (anchored at the end)', 'spiffe://td/ns/a/sa/b/'],
    ['extra path segments are refused', 'spiffe://td/ns/a/sa/b/c'],
    ['a prefix is refused (anchored at the start)', 'x spiffe://td/ns/a/sa/b'],
    ['the ns and sa markers are required in order', 'spiffe://td/sa/b/ns/a'],
  ])('%s', (_why, text) => {
    const result = parseSpiffeId(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('spiffe://<trust-domain>');
  });
});
