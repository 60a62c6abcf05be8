// Reading a whole collection from the API server page by page, and choosing which state a list
// may be served from. Used by the reflector; kept apart because it is pure (the fetching is
// passed in) and unit-tested on its own.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { apiErrorCode } from './api-client.js';

/** Query of one list request. Only the first page names a resourceVersion; the rest carry `continue`. */
export interface ListRequest {
  readonly limit: number;
  readonly _continue?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: string;
}

/**
 * Fetches one page; items must be wire JSON (what a watch delivers), not client-node models. A
 * page read as it arrives may hand each item to `onItem` as soon as it is read (the page's
 * `items` still holds them all, the same objects); one that fails after that hands out no more.
 */
export type ListPage = (
  request: ListRequest,
  onItem?: (item: KubernetesObject) => void,
) => Promise<KubernetesListObject<KubernetesObject>>;

/**
 * The first page of a list. `lastSeen` is the resourceVersion this reflector last saw: null
 * before its first list, '' when the server said that version is gone.
 */
export function firstListRequest(lastSeen: string | null, pageSize: number): ListRequest {
  // Nothing seen yet: resourceVersion "0" lets the API server answer from its watch cache rather
  // than etcd, which matters when every node lists at once (a rollout, an API server restart).
  // The cache may lag a little behind etcd. That is safe here: nothing newer was applied yet, and
  // the watch that follows starts at the list's resourceVersion and delivers every later change.
  // (The cache answers such a list in one page whatever the limit: it holds it in memory anyway.)
  if (lastSeen === null) return { limit: pageSize, resourceVersion: '0' };
  // A relist must not go back to an older state than we already applied (an HA peer's cache can
  // lag): not older than what we saw, which the cache still serves once it has caught up.
  if (lastSeen !== '')
    return { limit: pageSize, resourceVersion: lastSeen, resourceVersionMatch: 'NotOlderThan' };
  // Our version is gone: a consistent read of the latest state.
  return { limit: pageSize };
}

/**
 * Reads every page of a list. A continue token expires (HTTP 410) when the snapshot it reads from
 * is compacted; the list then starts again from the first page, at most `maxRestarts` times.
 */
export async function listAllPages(
  listPage: ListPage,
  first: ListRequest,
  maxRestarts = 2,
  onItem?: (item: KubernetesObject) => void,
): Promise<{ readonly items: KubernetesObject[]; readonly resourceVersion: string; readonly pages: number }> {
  for (let restarts = 0; ; restarts++) {
    const items: KubernetesObject[] = [];
    let request = first;
    let pages = 0;
    try {
      for (;;) {
        const page = await listPage(request, onItem);
        pages++;
        items.push(...page.items);
        const token = continueToken(page);
        if (token === '') return { items, resourceVersion: page.metadata?.resourceVersion ?? '', pages };
        request = { limit: first.limit, _continue: token };
      }
    } catch (err) {
      if (request._continue === undefined || apiErrorCode(err) !== 410 || restarts >= maxRestarts) throw err;
    }
  }
}

/**
 * A parsed list answer (JSON from the API server) as a list object; anything else is an error,
 * answered by the reflector with a retry. Items that are not objects cannot be keyed or parsed
 * and are left out.
 */
export function listObject(body: unknown, path: string): KubernetesListObject<KubernetesObject> {
  const list = body as { items?: unknown; metadata?: unknown } | null;
  if (typeof list !== 'object' || list === null || Array.isArray(list) || !Array.isArray(list.items))
    throw new Error(`the answer to the list of ${path} is not a list`);
  const items = list.items as unknown[];
  const isObject = (o: unknown): o is KubernetesObject =>
    typeof o === 'object' && o !== null && !Array.isArray(o);
  const metadata = typeof list.metadata === 'object' && list.metadata !== null ? list.metadata : {};
  return {
    ...(list as object),
    metadata,
    items: items.every(isObject) ? items : items.filter(isObject),
  } as KubernetesListObject<KubernetesObject>;
}

/** Typed lists name it `_continue`; raw JSON lists (custom objects) `continue`. */
function continueToken(list: KubernetesListObject<KubernetesObject>): string {
  const meta = (list.metadata ?? {}) as { _continue?: unknown; continue?: unknown };
  const token = meta._continue ?? meta.continue;
  return typeof token === 'string' ? token : '';
}
