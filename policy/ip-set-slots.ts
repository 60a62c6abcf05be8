// IP sets by id, held in "slots" that compiled rules point at. Replacing or removing a set only
// changes the slot's contents, so an IP-set update never recompiles a policy.
import type { IpSet } from './ip-set.js';

export interface IpSetSlot {
  readonly id: string;
  /** Where the slot's IPv4 bounds sit in IpSetSlots.v4Bounds (at 2 × index); stable while it exists. */
  readonly index: number;
  /** The current set; null while the id is referenced by a rule but not in the store. */
  set: IpSet | null;
  /** How many compiled rules point at this slot. */
  refs: number;
}

export class IpSetSlots {
  readonly #slots = new Map<string, IpSetSlot>();
  /**
   * Each slot's set's v4Low and v4High side by side, by slot index (low > high: the slot accepts
   * no IPv4 address, e.g. while its set is missing). A walk reads these few kilobytes instead of
   * one rule, slot and set object per rule it reaches.
   */
  #v4Bounds = new Uint32Array(128);
  readonly #freeIndexes: number[] = [];
  #nextIndex = 0;
  /** Slots that some rule references but whose set is missing; zero in a consistent store. */
  #missingReferenced = 0;
  #present = 0;

  /** Binds a rule to the slot for `id`, creating an empty one if needed. */
  acquire(id: string): IpSetSlot {
    const slot = this.#slotFor(id);
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
      this.#forget(slot);
    }
  }

  /** Stores `set` under `id`, replacing any previous set; put the same set again after changing it. */
  put(id: string, set: IpSet): void {
    const slot = this.#slotFor(id);
    if (slot.set === null) {
      this.#present++;
      if (slot.refs > 0) this.#missingReferenced--;
    }
    slot.set = set;
    this.#v4Bounds[slot.index * 2] = set.v4Low;
    this.#v4Bounds[slot.index * 2 + 1] = set.v4High;
  }

  /** Deletes the set `id`; rules that still reference it will see it as missing. */
  remove(id: string): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.set === null) return;
    slot.set = null;
    this.#setNoV4(slot.index);
    this.#present--;
    if (slot.refs > 0) this.#missingReferenced++;
    else this.#forget(slot);
  }

  #slotFor(id: string): IpSetSlot {
    let slot = this.#slots.get(id);
    if (slot !== undefined) return slot;
    const index = this.#freeIndexes.pop() ?? this.#nextIndex++;
    if (index * 2 >= this.#v4Bounds.length) {
      const grown = new Uint32Array(this.#v4Bounds.length * 2);
      grown.set(this.#v4Bounds);
      this.#v4Bounds = grown;
    }
    this.#setNoV4(index);
    slot = { id, index, set: null, refs: 0 };
    this.#slots.set(id, slot);
    return slot;
  }

  #setNoV4(index: number): void {
    this.#v4Bounds[index * 2] = 1;
    this.#v4Bounds[index * 2 + 1] = 0;
  }

  #forget(slot: IpSetSlot): void {
    this.#slots.delete(slot.id);
    this.#freeIndexes.push(slot.index);
  }

  /** Read afresh for each walk: the array is replaced when it grows. */
  get v4Bounds(): Uint32Array {
    return this.#v4Bounds;
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
