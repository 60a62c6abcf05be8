// Compiles a policy's or profile's inbound rules into one evaluator, and releases its IP-set slots
// when it is replaced or removed.
import type { Rule } from '../calico/rule.js';
import type { IpSetSlot, IpSetSlots } from './ip-set-slots.js';
import type { CompiledRule, CompiledRuleList } from './compiled.js';
import { compileRule } from './compile-rule.js';

export interface RuleListCompileResult {
  readonly list: CompiledRuleList;
  /** One line per problem, naming the owner and rule index. */
  readonly warnings: readonly string[];
}

/**
 * `owner` names the list in messages (`policy gnp/name`, `profile kns.default`);
 * `policyNamespace` is Policy.namespace ("" for global policies and profiles).
 */
export function compileRuleList(
  owner: string,
  rules: readonly Rule[],
  policyNamespace: string,
  slots: IpSetSlots,
): RuleListCompileResult {
  const compiled: CompiledRule[] = [];
  const held: IpSetSlot[] = [];
  const warnings: string[] = [];
  const bind = (id: string): IpSetSlot => slots.acquire(id);
  rules.forEach((rule, index) => {
    const result = compileRule(rule, index, policyNamespace, bind);
    compiled.push(result.rule);
    for (const slot of result.slots) held.push(slot);
    for (const w of result.warnings) warnings.push(`rule ${index} of ${owner}: ${w}`);
  });
  const portBounds = new Float64Array(compiled.length * 4);
  compiled.forEach((r, i) => {
    portBounds[i * 4] = r.dstPortMin;
    portBounds[i * 4 + 1] = r.dstPortMax;
    portBounds[i * 4 + 2] = r.srcPortMin;
    portBounds[i * 4 + 3] = r.srcPortMax;
  });
  const firstSets = new Int32Array(compiled.length * 2);
  compiled.forEach((r, i) => {
    firstSets[i * 2] = r.srcSets?.[0]?.index ?? -1;
    firstSets[i * 2 + 1] = r.dstSets?.[0]?.index ?? -1;
  });
  return {
    list: { owner, rules: compiled, portBounds, firstSets, dstPortCandidates: new Map(), slots: held },
    warnings,
  };
}

/** Gives back every slot the list holds; call once when the list leaves the store. */
export function releaseRuleList(list: CompiledRuleList, slots: IpSetSlots): void {
  for (const slot of list.slots) slots.release(slot);
}
