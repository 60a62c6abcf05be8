// Original file: /work/main/proto/felix/felixbackend.proto

import type { PolicyID as _felix_PolicyID, PolicyID__Output as _felix_PolicyID__Output } from './PolicyID.js';

export interface ActivePolicyRemove {
  'id'?: (_felix_PolicyID | null);
}

export interface ActivePolicyRemove__Output {
  'id': (_felix_PolicyID__Output | null);
}
