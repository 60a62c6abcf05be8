// Turns a datastore's raw object updates into calculation events, the same way for every
// datastore: unchanged objects are swallowed, and an invalid update is reported while the last
// valid revision stays in force — as with Calico's API server, which refuses the bad update.
import type { ClusterResource, ClusterResourceKind, ResourceEvent } from '../calc/cluster-model.js';
import { resourceKey } from '../calc/cluster-model.js';
import type { ObjectRef } from './parse-object.js';
import { objectRef, parseClusterObject, refKey } from './parse-object.js';

export interface DatastoreCallbacks {
  onEvent(event: ResourceEvent): void;
  /** An object was refused (it stays at its last valid revision, if any). */
  onRejected(ref: ObjectRef, reason: string): void;
  /** An object was accepted with a caveat (e.g. a Kubernetes NetworkPolicy rule Calico drops). */
  onWarning(ref: ObjectRef, message: string): void;
}

/** A source of cluster resources: the API server or a directory of YAML files. */
export interface Datastore {
  /** Starts watching; resolves once the initial snapshot and `in-sync` have been delivered. */
  start(callbacks: DatastoreCallbacks): Promise<void>;
  close(): Promise<void>;
}

interface Applied {
  readonly kind: ClusterResourceKind;
  readonly key: string;
  readonly resource: ClusterResource;
  /** fingerprint(resource), computed when first compared: most objects are never updated. */
  fingerprint: string | null;
}

export class ObjectTracker {
  private readonly applied = new Map<string, Applied>();
  private readonly refused = new Map<string, string>();

  constructor(private readonly callbacks: DatastoreCallbacks) {}

  /** The keys (refKey) of every object currently in force. */
  keys(): string[] {
    return [...this.applied.keys()];
  }

  /**
   * Applies an added or modified object; returns its key, or null if it is not ours. The object
   * counts as applied only once the callbacks returned: if one throws, the same object applied
   * again (the datastore's resync) is delivered again rather than swallowed as unchanged.
   */
  upsert(raw: unknown): string | null {
    const ref = objectRef(raw);
    if (ref === null) return null;
    const rk = refKey(ref);
    const parsed = parseClusterObject(raw);
    if (parsed.kind === 'ignored') return null;
    if (parsed.kind === 'rejected') {
      // Report each distinct problem once, not on every resync of the same object.
      if (this.refused.get(rk) !== parsed.reason) this.callbacks.onRejected(ref, parsed.reason);
      this.refused.set(rk, parsed.reason);
      return rk;
    }
    this.refused.delete(rk);
    const resource = parsed.resource;
    const next: Applied = { kind: resource.kind, key: resourceKey(resource), resource, fingerprint: null };
    const prev = this.applied.get(rk);
    if (prev !== undefined) {
      prev.fingerprint ??= fingerprint(prev.resource);
      next.fingerprint = fingerprint(resource);
      if (prev.fingerprint === next.fingerprint) return rk;
    }
    if (prev !== undefined && (prev.kind !== next.kind || prev.key !== next.key)) {
      this.callbacks.onEvent({ type: 'delete', kind: prev.kind, key: prev.key });
      this.applied.delete(rk);
    }
    for (const w of parsed.warnings) this.callbacks.onWarning(ref, w);
    this.callbacks.onEvent({ type: 'upsert', resource });
    this.applied.set(rk, next);
    return rk;
  }

  /** Applies a deletion, given the deleted object or its key; forgotten only once delivered. */
  remove(rawOrKey: unknown): void {
    const rk = typeof rawOrKey === 'string' ? rawOrKey : keyOf(rawOrKey);
    if (rk === null) return;
    this.refused.delete(rk);
    const prev = this.applied.get(rk);
    if (prev === undefined) return;
    this.callbacks.onEvent({ type: 'delete', kind: prev.kind, key: prev.key });
    this.applied.delete(rk);
  }
}

function keyOf(raw: unknown): string | null {
  const ref = objectRef(raw);
  return ref === null ? null : refKey(ref);
}

/** Stable text of a parsed resource (Maps as sorted entries), to spot no-op updates. */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v instanceof Map
      ? [...(v as Map<string, unknown>).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      : v,
  );
}
