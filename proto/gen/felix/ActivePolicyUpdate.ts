// Original file: /work/main/proto/felix/felixbackend.proto

import type { PolicyID as _felix_PolicyID, PolicyID__Output as _felix_PolicyID__Output } from './PolicyID.js';
import type { Policy as _felix_Policy, Policy__Output as _felix_Policy__Output } from './Policy.js';

export interface ActivePolicyUpdate {
  'id'?: (_felix_PolicyID | null);
  'policy'?: (_felix_Policy | null);
}

export interface ActivePolicyUpdate__Output {
  'id': (_felix_PolicyID__Output | null);
  'policy': (_felix_Policy__Output | null);
}
