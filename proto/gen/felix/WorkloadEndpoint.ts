// Original file: /work/main/proto/felix/felixbackend.proto

import type { TierInfo as _felix_TierInfo, TierInfo__Output as _felix_TierInfo__Output } from './TierInfo.js';

export interface WorkloadEndpoint {
  'state'?: (string);
  'name'?: (string);
  'mac'?: (string);
  'profile_ids'?: (string)[];
  'ipv4_nets'?: (string)[];
  'ipv6_nets'?: (string)[];
  'tiers'?: (_felix_TierInfo)[];
  'annotations'?: ({[key: string]: string});
}

export interface WorkloadEndpoint__Output {
  'state': (string);
  'name': (string);
  'mac': (string);
  'profile_ids': (string)[];
  'ipv4_nets': (string)[];
  'ipv6_nets': (string)[];
  'tiers': (_felix_TierInfo__Output)[];
  'annotations': ({[key: string]: string});
}
