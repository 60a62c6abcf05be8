// What a selector needs of single labels: labels and the values each must have for any labels to
// match. Lets an index look at only the candidates that carry one of those values instead of
// evaluating the selector against everything (Felix's label index does the same for `k == "v"`).
import type { SelectorNode } from './ast.js';

export interface RequiredLabel {
  readonly label: string;
  /** Every matching label map has `label` set to one of these (none: nothing matches). */
  readonly values: readonly string[];
}

/**
 * Requirements that every match meets, each on its own: `a == "1" && b in {"2", "3"}` needs a=1
 * and needs b ∈ {2, 3}. Empty when the selector can match without any (all(), has(), !=, not, …).
 * Sound, not complete: fewer requirements are always a safe answer. An index picks one of them.
 */
export function requiredLabels(node: SelectorNode): RequiredLabel[] {
  switch (node.kind) {
    case 'eq':
      return [{ label: node.label, values: [node.value] }];
    case 'in':
      return [{ label: node.label, values: node.values }];
    case 'and':
      return node.operands.flatMap(requiredLabels);
    case 'or': {
      // A label every branch requires: it must have one of the branches' values.
      const branches = node.operands.map(requiredLabels);
      const out: RequiredLabel[] = [];
      for (const { label } of branches[0] ?? []) {
        if (out.some((r) => r.label === label)) continue;
        const values = new Set<string>();
        const isEverywhere = branches.every((branch) => {
          const own = branch.filter((r) => r.label === label);
          if (own.length === 0) return false;
          const narrowest = own.reduce((a, b) => (b.values.length < a.values.length ? b : a));
          for (const v of narrowest.values) values.add(v);
          return true;
        });
        if (isEverywhere) out.push({ label, values: [...values] });
      }
      return out;
    }
    default:
      return [];
  }
}
