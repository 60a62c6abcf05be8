// Membership of the active IP sets, kept up to date incrementally as endpoints (pods, network
// sets) come, change and go, the way Felix's label index does: indexed by the label value each
// set's selector requires. No I/O: a data structure only.
import type { Labels } from '../../calico/labels.js';
import type { IpSetSpec } from '../../calico/policy-to-rules.js';
import { requiredLabels, type RequiredLabel } from '../../calico/selector/required-label.js';
import type { NamedPort } from './cluster-model.js';
import { LabelValueIndex, labelRank } from './label-value-index.js';

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
  /** Activation order: results list changed sets in it, as a scan over every set would. */
  readonly seq: number;
  /** A label every member needs (from the selector), to find candidates; null: all entities. */
  readonly required: RequiredLabel | null;
  /** Member → how many entities contribute it (two pods may briefly share an IP). */
  readonly counts: Map<string, number>;
  readonly contributors: Map<string, readonly string[]>;
  /** Immutable view handed out; rebuilt after a change, so readers can compare by reference. */
  snapshot: ReadonlySet<string> | null;
}

interface EntityState {
  entity: IpSetEntity;
  /** Insertion order, kept across updates (a Map's order): members are added in it. */
  readonly seq: number;
}

const NONE: readonly string[] = [];

export class IpSetIndex {
  private readonly entities = new Map<string, EntityState>();
  private readonly sets = new Map<string, SetState>();
  private nextEntitySeq = 0;
  private nextSetSeq = 0;
  /** Entities by the values of `indexedLabels` only. */
  private readonly entitiesByLabel = new LabelValueIndex<string>();
  /**
   * Labels some set's selector has required, indexed from then on. Pods carry many labels no
   * selector names (pod-template-hash, projectcalico.org/namespace, …); indexing those would
   * cost every pod upsert and hold an entry per pod for nothing.
   */
  private readonly indexedLabels = new Set<string>();
  private readonly setsByLabel = new LabelValueIndex<SetState>();
  /**
   * Sets with no required label. An entity contributes to a set only if the set's selector
   * matches it, so its labels meet the set's requirement: the sets it is in are found through
   * its labels too, without a per-entity list.
   */
  private readonly unindexedSets = new Set<SetState>();

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
    const required = this.narrowest(requiredLabels(spec.selector.root));
    const state: SetState = {
      spec,
      refs: 1,
      seq: this.nextSetSeq++,
      required,
      counts: new Map(),
      contributors: new Map(),
      snapshot: null,
    };
    this.sets.set(spec.id, state);
    if (required === null) {
      this.unindexedSets.add(state);
      for (const [key, { entity }] of this.entities)
        this.setContribution(state, key, contribution(spec, entity));
      return;
    }
    for (const v of required.values) this.setsByLabel.add(required.label, v, state);
    const candidates: EntityState[] = [];
    const keys = new Map<EntityState, string>();
    for (const v of required.values) {
      for (const key of this.entitiesByLabel.get(required.label, v) ?? []) {
        const e = this.entities.get(key) as EntityState;
        candidates.push(e);
        keys.set(e, key);
      }
    }
    candidates.sort((a, b) => a.seq - b.seq);
    for (const e of candidates)
      this.setContribution(state, keys.get(e) as string, contribution(spec, e.entity));
  }

  /** Drops a reference; the set and its members are forgotten at zero. */
  deactivate(id: string): void {
    const state = this.sets.get(id);
    if (state === undefined) return;
    if (--state.refs > 0) return;
    this.sets.delete(id);
    if (state.required === null) this.unindexedSets.delete(state);
    else for (const v of state.required.values) this.setsByLabel.delete(state.required.label, v, state);
  }

  /**
   * The requirement with the fewest entities now; on a tie (no entities yet, at start-up) one on
   * the workload's own labels rather than the ones Calico adds to every pod of a namespace or of
   * the cluster (`projectcalico.org/orchestrator == "k8s"` is in every Kubernetes policy's sets).
   */
  private narrowest(requirements: readonly RequiredLabel[]): RequiredLabel | null {
    let best: RequiredLabel | null = null;
    let bestCount = Infinity;
    let bestRank = Infinity;
    for (const r of requirements) {
      this.indexLabel(r.label);
      let count = 0;
      for (const v of r.values) count += this.entitiesByLabel.get(r.label, v)?.size ?? 0;
      const rank = labelRank(r.label);
      if (count < bestCount || (count === bestCount && rank < bestRank)) {
        [best, bestCount, bestRank] = [r, count, rank];
      }
    }
    return best;
  }

  isActive(id: string): boolean {
    return this.sets.has(id);
  }

  /** Adds or replaces an entity; returns the ids of active sets whose members changed. */
  upsertEntity(key: string, entity: IpSetEntity): string[] {
    const old = this.entities.get(key);
    const labels = entity.labels;
    // The sets this entity can be in now, and the ones it was in.
    const candidates = this.setsFor(labels);
    if (old === undefined) {
      this.entities.set(key, { entity, seq: this.nextEntitySeq++ });
      this.indexEntity(key, labels);
    } else if (old.entity.labels !== labels) {
      // The label index changes only with the labels (callers pass the same map when they did not).
      old.entity.labels.forEach((value, label) => {
        this.setsByLabel.get(label, value)?.forEach((state) => candidates.add(state));
        if (labels.get(label) !== value) this.entitiesByLabel.delete(label, value, key);
      });
      this.indexEntity(key, labels);
      old.entity = entity;
    } else old.entity = entity;
    const changed: SetState[] = [];
    for (const state of candidates)
      if (this.setContribution(state, key, contribution(state.spec, entity))) changed.push(state);
    return ids(changed);
  }

  deleteEntity(key: string): string[] {
    const old = this.entities.get(key);
    if (old === undefined) return [];
    this.entities.delete(key);
    for (const [label, value] of old.entity.labels) this.entitiesByLabel.delete(label, value, key);
    const changed: SetState[] = [];
    for (const state of this.setsFor(old.entity.labels))
      if (this.setContribution(state, key, NONE)) changed.push(state);
    return ids(changed);
  }

  private indexEntity(key: string, labels: Labels): void {
    labels.forEach((value, label) => {
      if (this.indexedLabels.has(label)) this.entitiesByLabel.add(label, value, key);
    });
  }

  /** Starts indexing a label a set requires, with the entities that already carry it. */
  private indexLabel(label: string): void {
    if (this.indexedLabels.has(label)) return;
    this.indexedLabels.add(label);
    for (const [key, { entity }] of this.entities) {
      const value = entity.labels.get(label);
      if (value !== undefined) this.entitiesByLabel.add(label, value, key);
    }
  }

  /** The sets whose requirement these labels meet (each once: a set is indexed by one label). */
  private setsFor(labels: Labels): Set<SetState> {
    const out = new Set<SetState>(this.unindexedSets);
    // forEach, not for-of: no entry arrays while this path is still unoptimised at start.
    labels.forEach((value, label) => this.setsByLabel.get(label, value)?.forEach((state) => out.add(state)));
    return out;
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

/** Set ids in activation order. */
function ids(states: SetState[]): string[] {
  // An entity changes a few sets at a time: an insertion sort, without Array#sort's work arrays.
  const out: string[] = [];
  for (let i = 0; i < states.length; i++) {
    const s = states[i] as SetState;
    let j = i;
    for (; j > 0 && (states[j - 1] as SetState).seq > s.seq; j--) {
      states[j] = states[j - 1] as SetState;
      out[j] = out[j - 1] as string;
    }
    states[j] = s;
    out[j] = s.spec.id;
  }
  return out;
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
