// Original file: /work/main/proto/felix/felixbackend.proto

import type { PolicyID as _felix_PolicyID, PolicyID__Output as _felix_PolicyID__Output } from './PolicyID.js';

export interface TierInfo {
  'name'?: (string);
  'ingress_policies'?: (_felix_PolicyID)[];
  'egress_policies'?: (_felix_PolicyID)[];
  'default_action'?: (string);
}

export interface TierInfo__Output {
  'name': (string);
  'ingress_policies': (_felix_PolicyID__Output)[];
  'egress_policies': (_felix_PolicyID__Output)[];
  'default_action': (string);
}
