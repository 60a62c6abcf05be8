// Membership of the active IP sets, kept up to date incrementally as endpoints (pods, network
// sets) come, change and go, the way Felix's label index does. No I/O: a data structure only.
import type { Labels } from '../../calico/labels.js';
import type { IpSetSpec } from '../../calico/policy-to-rules.js';
import type { NamedPort } from './cluster-model.js';

/** Anything an IP set can select: a pod's workload endpoint or a network set. */
export interface IpSetEntity {
  readonly labels: Labels;
  /** Members it gives a selector (NET) set: `ip/32` per pod address, or a network set's nets. */
  readonly netMembers: readonly string[];
  /** Addresses and named ports for named-port (IP_AND_PORT) sets; empty for network sets. */
  readonly ips: readonly string[];
  readonly namedPorts: readonly NamedPort[];
}

interface SetState {
  readonly spec: IpSetSpec;
  refs: number;
  /** Member → how many entities contribute it (two pods may briefly share an IP). */
  readonly counts: Map<string, number>;
  readonly contributors: Map<string, readonly string[]>;
  /** Immutable view handed out; rebuilt after a change, so readers can compare by reference. */
  snapshot: ReadonlySet<string> | null;
}

const NONE: readonly string[] = [];

export class IpSetIndex {
  private readonly entities = new Map<string, IpSetEntity>();
  private readonly sets = new Map<string, SetState>();

  get activeSetCount(): number {
    return this.sets.size;
  }

  /** Adds a reference to a set, computing its members if it was not active. */
  activate(spec: IpSetSpec): void {
    const existing = this.sets.get(spec.id);
    if (existing !== undefined) {
      existing.refs++;
      return;
    }
    const state: SetState = { spec, refs: 1, counts: new Map(), contributors: new Map(), snapshot: null };
    this.sets.set(spec.id, state);
    for (const [key, entity] of this.entities) this.setContribution(state, key, contribution(spec, entity));
  }

  /** Drops a reference; the set and its members are forgotten at zero. */
  deactivate(id: string): void {
    const state = this.sets.get(id);
    if (state === undefined) return;
    if (--state.refs <= 0) this.sets.delete(id);
  }

  isActive(id: string): boolean {
    return this.sets.has(id);
  }

  /** Adds or replaces an entity; returns the ids of active sets whose members changed. */
  upsertEntity(key: string, entity: IpSetEntity): string[] {
    this.entities.set(key, entity);
    const changed: string[] = [];
    for (const state of this.sets.values()) {
      if (this.setContribution(state, key, contribution(state.spec, entity))) changed.push(state.spec.id);
    }
    return changed;
  }

  deleteEntity(key: string): string[] {
    if (!this.entities.delete(key)) return [];
    const changed: string[] = [];
    for (const state of this.sets.values()) {
      if (this.setContribution(state, key, NONE)) changed.push(state.spec.id);
    }
    return changed;
  }

  /** The current members of an active set (the same object until they change), or null. */
  members(id: string): ReadonlySet<string> | null {
    const state = this.sets.get(id);
    if (state === undefined) return null;
    state.snapshot ??= new Set(state.counts.keys());
    return state.snapshot;
  }

  spec(id: string): IpSetSpec | null {
    return this.sets.get(id)?.spec ?? null;
  }

  /** Replaces one entity's members in one set; true if the set's membership changed. */
  private setContribution(state: SetState, key: string, next: readonly string[]): boolean {
    const prev = state.contributors.get(key) ?? NONE;
    if (sameMembers(prev, next)) return false;
    let changed = false;
    for (const m of next) {
      const n = state.counts.get(m) ?? 0;
      state.counts.set(m, n + 1);
      if (n === 0) changed = true;
    }
    for (const m of prev) {
      const n = state.counts.get(m) ?? 0;
      if (n <= 1) {
        state.counts.delete(m);
        changed = true;
      } else state.counts.set(m, n - 1);
    }
    if (next.length === 0) state.contributors.delete(key);
    else state.contributors.set(key, next);
    if (changed) state.snapshot = null;
    return changed;
  }
}

/** What one entity puts into one set. */
export function contribution(spec: IpSetSpec, entity: IpSetEntity): readonly string[] {
  if (!spec.selector.matches(entity.labels)) return NONE;
  const np = spec.namedPort;
  if (np === null) return entity.netMembers;
  const out: string[] = [];
  for (const port of entity.namedPorts) {
    if (port.name !== np.name || (np.protocol !== 'any' && np.protocol !== port.protocol)) continue;
    for (const ip of entity.ips) out.push(`${ip},${port.protocol}:${port.port}`);
  }
  return out;
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
