import { ApiException, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { firstListRequest, listAllPages, listObject, type ListRequest } from './list-pages.js';

const obj = (name: string): KubernetesObject => ({ metadata: { name } });

/** A collection served in pages of `limit`, as the API server does; `expireAt` pages' tokens answer 410 once. */
function pagedServer(names: readonly string[], version: string, expireAt: ReadonlySet<number> = new Set()) {
  const requests: ListRequest[] = [];
  const expired = new Set(expireAt);
  const listPage = (request: ListRequest): Promise<KubernetesListObject<KubernetesObject>> => {
    requests.push(request);
    const start = request._continue === undefined ? 0 : Number(request._continue);
    if (expired.delete(start))
      return Promise.reject(new ApiException(410, 'Expired', '{"message":"continue expired"}', {}));
    const end = Math.min(names.length, start + request.limit);
    return Promise.resolve({
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: version, ...(end < names.length ? { _continue: String(end) } : {}) },
      items: names.slice(start, end).map(obj),
    });
  };
  return { listPage, requests };
}

describe('firstListRequest', () => {
  it.each([
    ['the first list reads the watch cache (resourceVersion 0)', null, { limit: 500, resourceVersion: '0' }],
    [
      'a relist is not older than what was seen',
      '41',
      { limit: 500, resourceVersion: '41', resourceVersionMatch: 'NotOlderThan' },
    ],
    ['after the server said our version is gone: a consistent read', '', { limit: 500 }],
  ] as const)('%s', (_rule, lastSeen, want) => {
    expect(firstListRequest(lastSeen, 500)).toEqual(want);
  });
});

describe('listAllPages', () => {
  const names = Array.from({ length: 7 }, (_, i) => `o${i}`);

  it('follows continue tokens until the last page, carrying only limit and continue after the first', async () => {
    const server = pagedServer(names, '99');
    const got = await listAllPages(server.listPage, { limit: 3, resourceVersion: '0' });
    expect(got.items.map((o) => o.metadata?.name)).toEqual(names);
    expect(got.resourceVersion).toBe('99');
    expect(server.requests).toEqual([
      { limit: 3, resourceVersion: '0' },
      { limit: 3, _continue: '3' },
      { limit: 3, _continue: '6' },
    ]);
  });

  it('starts again from the first page when a continue token has expired (410)', async () => {
    const server = pagedServer(names, '99', new Set([6]));
    const got = await listAllPages(server.listPage, { limit: 3 });
    expect(got.items.map((o) => o.metadata?.name)).toEqual(names);
    expect(server.requests.filter((r) => r._continue === undefined)).toHaveLength(2);
  });

  it('gives up after a few restarts, and never retries a failed first page itself', async () => {
    const always = pagedServer(names, '99', new Set([3]));
    const failing = (r: ListRequest) =>
      r._continue === undefined
        ? always.listPage(r)
        : Promise.reject(new ApiException(410, 'Expired', '', {}));
    await expect(listAllPages(failing, { limit: 3 }, 2)).rejects.toMatchObject({ code: 410 });
    const firstPageGone = () => Promise.reject(new ApiException(410, 'Expired', '', {}));
    await expect(listAllPages(firstPageGone, { limit: 3 })).rejects.toMatchObject({ code: 410 });
  });

  it('reads raw JSON lists, whose token is called continue', async () => {
    let calls = 0;
    const raw = (): Promise<KubernetesListObject<KubernetesObject>> =>
      Promise.resolve(
        calls++ === 0
          ? ({ metadata: { continue: 'next', resourceVersion: '5' }, items: [obj('a')] } as never)
          : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '5' }, items: [obj('b')] },
      );
    expect((await listAllPages(raw, { limit: 1 })).items.map((o) => o.metadata?.name)).toEqual(['a', 'b']);
  });
});

describe('listObject', () => {
  it("takes the API server's JSON list as it is, continue token and resourceVersion included", async () => {
    const body = JSON.parse(
      '{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"abc"},' +
        '"items":[{"metadata":{"name":"a","creationTimestamp":"2026-12-02T10:00:00Z"}},{"metadata":{"name":"b"}}]}',
    ) as unknown;
    const list = listObject(body, '/api/v1/pods');
    expect(list.items.map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    // Plain JSON, as a watch delivers it: no Date objects.
    expect(list.items[0]?.metadata?.creationTimestamp).toBe('2026-12-02T10:00:00Z');
    let calls = 0;
    const read = await listAllPages(
      () => Promise.resolve(calls++ === 0 ? list : listObject({ metadata: {}, items: [] }, 'p')),
      { limit: 2 },
    );
    expect(read).toMatchObject({ resourceVersion: '', pages: 2 });
    expect(read.items).toHaveLength(2);
  });

  it('leaves out items that are not objects (they cannot be keyed), keeping the rest', () => {
    const list = listObject({ metadata: {}, items: [null, 3, 'x', [], { metadata: { name: 'ok' } }] }, 'p');
    expect(list.items).toEqual([{ metadata: { name: 'ok' } }]);
  });

  it.each([null, 'text', 3, [], {}, { items: {} }, { items: null }])(
    'refuses an answer that is no list (%j), for the reflector to retry',
    (body) => {
      expect(() => listObject(body, '/api/v1/pods')).toThrow(
        'the answer to the list of /api/v1/pods is not a list',
      );
    },
  );
});
