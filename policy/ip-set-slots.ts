// IP sets by id, held in "slots" that compiled rules point at. Replacing or removing a set only
// changes the slot's contents, so an IP-set update never recompiles a policy.
import type { IpSet } from './ip-set.js';

export interface IpSetSlot {
  readonly id: string;
  /** The current set; null while the id is referenced by a rule but not in the store. */
  set: IpSet | null;
  /** How many compiled rules point at this slot. */
  refs: number;
}

export class IpSetSlots {
  readonly #slots = new Map<string, IpSetSlot>();
  /** Slots that some rule references but whose set is missing; zero in a consistent store. */
  #missingReferenced = 0;
  #present = 0;

  /** Binds a rule to the slot for `id`, creating an empty one if needed. */
  acquire(id: string): IpSetSlot {
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = { id, set: null, refs: 0 };
      this.#slots.set(id, slot);
    }
    if (slot.refs === 0 && slot.set === null) this.#missingReferenced++;
    slot.refs++;
    return slot;
  }

  /** Drops one rule's reference; an unreferenced empty slot is forgotten. */
  release(slot: IpSetSlot): void {
    if (slot.refs <= 0) return;
    slot.refs--;
    if (slot.refs === 0 && slot.set === null) {
      this.#missingReferenced--;
      this.#slots.delete(slot.id);
    }
  }

  /** Stores `set` under `id`, replacing any previous set. */
  put(id: string, set: IpSet): void {
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = { id, set: null, refs: 0 };
      this.#slots.set(id, slot);
    }
    if (slot.set === null) {
      this.#present++;
      if (slot.refs > 0) this.#missingReferenced--;
    }
    slot.set = set;
  }

  /** Deletes the set `id`; rules that still reference it will see it as missing. */
  remove(id: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.set === null) return;
    slot.set = null;
    this.#present--;
    if (slot.refs > 0) this.#missingReferenced++;
    else this.#slots.delete(id);
  }

  get(id: string): IpSet | null {
    return this.#slots.get(id)?.set ?? null;
  }

  get missingReferenced(): number {
    return this.#missingReferenced;
  }

  /** Number of sets present. */
  get size(): number {
    return this.#present;
  }

  /** Total members over all present sets. */
  memberCount(): number {
    let n = 0;
    for (const slot of this.#slots.values()) if (slot.set !== null) n += slot.set.size;
    return n;
  }
}
