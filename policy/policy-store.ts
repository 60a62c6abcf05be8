// The policy store of one pod, fed by PolicySync (spec §2.5, §3). Policies and profiles are
// compiled as they arrive, so a Check only walks ready-made evaluators. Not safe to share across
// threads; on one event loop, a Check always sees whole messages applied.
import type { Labels } from '../calico/labels.js';
import type { ToDataplane__Output } from '../proto/gen/felix/ToDataplane.js';
import type { CompiledEndpoint, CompiledRuleList } from './compiled.js';
import { applyUpdate } from './apply-update.js';
import type { ApplyResult } from './apply-update.js';
import { StoreState } from './store-state.js';

export type { ApplyResult } from './apply-update.js';

export interface StoreStats {
  readonly policies: number;
  readonly profiles: number;
  readonly ipSets: number;
  readonly ipSetMembers: number;
  readonly serviceAccounts: number;
  readonly namespaces: number;
  readonly hasEndpoint: boolean;
}

export class PolicyStore {
  readonly #state = new StoreState();

  /** Applies every payload of spec §2.5 except in_sync, which the sync client handles. */
  apply(msg: ToDataplane__Output): ApplyResult {
    return applyUpdate(this.#state, msg);
  }

  get hasEndpoint(): boolean {
    return this.#state.endpoint !== null;
  }

  stats(): StoreStats {
    const s = this.#state;
    return {
      policies: s.policies.size,
      profiles: s.profiles.size,
      ipSets: s.ipSets.size,
      ipSetMembers: s.ipSets.memberCount(),
      serviceAccounts: s.serviceAccountCount,
      namespaces: s.namespaceCount,
      hasEndpoint: s.endpoint !== null,
    };
  }

  // Reads for the checker.

  get endpoint(): CompiledEndpoint | null {
    return this.#state.endpoint;
  }

  /** undefined: never sent; null: sent without a body. Both count as missing. */
  policy(key: string): CompiledRuleList | null | undefined {
    return this.#state.policies.get(key);
  }

  profile(name: string): CompiledRuleList | null | undefined {
    return this.#state.profiles.get(name);
  }

  get ipSetV4Bounds(): Uint32Array {
    return this.#state.ipSets.v4Bounds;
  }

  /** How many referenced IP-set ids have no set; zero in a consistent store. */
  get missingIpSetRefs(): number {
    return this.#state.ipSets.missingReferenced;
  }

  serviceAccountLabels(namespace: string, name: string): Labels | undefined {
    return this.#state.serviceAccountLabels(namespace, name);
  }

  namespaceLabels(name: string): Labels | undefined {
    return this.#state.namespaceLabels(name);
  }
}
