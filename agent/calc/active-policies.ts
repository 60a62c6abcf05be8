// Which policies are active (select at least one local endpoint) and which IP sets they keep
// active. Like Felix's active rules calculator: IP set members are only computed for sets that
// some local endpoint's policy references.
import type { CompiledPolicy } from './compiled-policy.js';
import type { IpSetEntity } from './ip-set-index.js';
import { IpSetIndex } from './ip-set-index.js';

export class ActivePolicies {
  readonly ipSets = new IpSetIndex();
  /** Active policy key → local endpoint ids it selects. */
  private readonly selected = new Map<string, Set<string>>();
  /** Active IP set id → active policy keys referencing it. */
  private readonly setUsers = new Map<string, Set<string>>();

  endpointsOf(policyKey: string): ReadonlySet<string> {
    return this.selected.get(policyKey) ?? EMPTY;
  }

  /** Records that `p` selects endpoint `id`, activating p's IP sets on its first endpoint. */
  link(p: CompiledPolicy, id: string): void {
    let eps = this.selected.get(p.key);
    if (eps === undefined) {
      this.selected.set(p.key, (eps = new Set()));
      for (const spec of p.ipSets) {
        this.ipSets.activate(spec);
        this.addUser(spec.id, p.key);
      }
    }
    eps.add(id);
  }

  /** Records that `p` no longer selects `id`, releasing its IP sets after its last endpoint. */
  unlink(p: CompiledPolicy, id: string): void {
    const eps = this.selected.get(p.key);
    if (eps === undefined || !eps.delete(id) || eps.size > 0) return;
    this.selected.delete(p.key);
    for (const spec of p.ipSets) {
      this.ipSets.deactivate(spec.id);
      this.removeUser(spec.id, p.key);
    }
  }

  /** Swaps an active policy's revision, taking new sets before releasing old ones so shared sets keep their members. */
  replace(old: CompiledPolicy, next: CompiledPolicy): void {
    if (!this.selected.has(old.key)) return;
    for (const spec of next.ipSets) this.ipSets.activate(spec);
    for (const spec of old.ipSets) this.ipSets.deactivate(spec.id);
    for (const spec of old.ipSets) this.removeUser(spec.id, old.key);
    for (const spec of next.ipSets) this.addUser(spec.id, next.key);
  }

  /** Adds or updates an entity; returns the local endpoints whose IP sets changed. */
  upsertEntity(key: string, entity: IpSetEntity): ReadonlySet<string> {
    return this.endpointsUsing(this.ipSets.upsertEntity(key, entity));
  }

  deleteEntity(key: string): ReadonlySet<string> {
    return this.endpointsUsing(this.ipSets.deleteEntity(key));
  }

  private endpointsUsing(setIds: readonly string[]): ReadonlySet<string> {
    if (setIds.length === 0) return EMPTY;
    const out = new Set<string>();
    // forEach, not for-of: called for every pod at start, while this code is still unoptimised.
    for (const setId of setIds)
      this.setUsers.get(setId)?.forEach((key) => this.selected.get(key)?.forEach((id) => out.add(id)));
    return out;
  }

  private addUser(setId: string, key: string): void {
    let users = this.setUsers.get(setId);
    if (users === undefined) this.setUsers.set(setId, (users = new Set()));
    users.add(key);
  }

  private removeUser(setId: string, key: string): void {
    const users = this.setUsers.get(setId);
    users?.delete(key);
    if (users?.size === 0) this.setUsers.delete(setId);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
