// The tables behind a PolicyStore (spec §3), holding compiled policies and profiles. Internal to
// sidecar/store: apply-update.ts writes it, PolicyStore exposes narrow reads to the checker.
import type { Labels } from '../calico/labels.js';
import type { PolicyId } from '../calico/policy-id.js';
import { renderPolicyId } from '../calico/policy-id.js';
import type { Rule } from '../calico/rule.js';
import { compileRuleList, releaseRuleList } from './compile-policy.js';
import type { CompiledEndpoint, CompiledRuleList } from './compiled.js';
import type { IpSet } from './ip-set.js';
import { IpSetSlots } from './ip-set-slots.js';

function serviceAccountKey(namespace: string, name: string): string {
  return `${namespace}\u0000${name}`;
}

export class StoreState {
  endpoint: CompiledEndpoint | null = null;
  /** By policyKey; null when Felix sent the id without a policy (treated as missing). */
  readonly policies = new Map<string, CompiledRuleList | null>();
  /** By profile name; null as above (a missing profile is skipped). */
  readonly profiles = new Map<string, CompiledRuleList | null>();
  readonly ipSets = new IpSetSlots();
  readonly #serviceAccounts = new Map<string, Labels>();
  readonly #namespaces = new Map<string, Labels>();

  /** Compiles and stores a policy, replacing (and releasing) any previous one. */
  putPolicy(
    key: string,
    id: PolicyId,
    policy: { namespace: string; rules: readonly Rule[] } | null,
  ): readonly string[] {
    let warnings: readonly string[] = [];
    let next: CompiledRuleList | null = null;
    if (policy !== null) {
      const result = compileRuleList(
        `policy ${renderPolicyId(id)}`,
        policy.rules,
        policy.namespace,
        this.ipSets,
      );
      next = result.list;
      warnings = result.warnings;
    }
    this.removePolicy(key);
    this.policies.set(key, next);
    return warnings;
  }

  removePolicy(key: string): void {
    const old = this.policies.get(key);
    if (old != null) releaseRuleList(old, this.ipSets);
    this.policies.delete(key);
  }

  putProfile(name: string, rules: readonly Rule[] | null): readonly string[] {
    let warnings: readonly string[] = [];
    let next: CompiledRuleList | null = null;
    if (rules !== null) {
      const result = compileRuleList(`profile ${name}`, rules, '', this.ipSets);
      next = result.list;
      warnings = result.warnings;
    }
    this.removeProfile(name);
    this.profiles.set(name, next);
    return warnings;
  }

  removeProfile(name: string): void {
    const old = this.profiles.get(name);
    if (old != null) releaseRuleList(old, this.ipSets);
    this.profiles.delete(name);
  }

  putIpSet(id: string, set: IpSet): void {
    this.ipSets.put(id, set);
  }

  putServiceAccount(namespace: string, name: string, labels: Labels): void {
    this.#serviceAccounts.set(serviceAccountKey(namespace, name), labels);
  }

  removeServiceAccount(namespace: string, name: string): void {
    this.#serviceAccounts.delete(serviceAccountKey(namespace, name));
  }

  serviceAccountLabels(namespace: string, name: string): Labels | undefined {
    return this.#serviceAccounts.get(serviceAccountKey(namespace, name));
  }

  get serviceAccountCount(): number {
    return this.#serviceAccounts.size;
  }

  putNamespace(name: string, labels: Labels): void {
    this.#namespaces.set(name, labels);
  }

  removeNamespace(name: string): void {
    this.#namespaces.delete(name);
  }

  namespaceLabels(name: string): Labels | undefined {
    return this.#namespaces.get(name);
  }

  get namespaceCount(): number {
    return this.#namespaces.size;
  }
}
