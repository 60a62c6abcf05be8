// A rule's action as PolicySync carries it (lower case; Felix also sends `next-tier` for Pass),
// read once for both the sidecar's evaluator and the kernel's renderer. Pure.

/** `invalid` for anything else: the readers fail closed on it. */
export type RuleAction = 'allow' | 'deny' | 'pass' | 'log' | 'invalid';

export function ruleActionFromWire(action: string): RuleAction {
  switch (action.toLowerCase()) {
    case 'allow':
      return 'allow';
    case 'deny':
      return 'deny';
    case 'pass':
    case 'next-tier':
      return 'pass';
    case 'log':
      return 'log';
    default:
      return 'invalid';
  }
}
