// Original file: /work/main/proto/felix/felixbackend.proto

import type { Rule as _felix_Rule, Rule__Output as _felix_Rule__Output } from './Rule.js';

export interface Profile {
  'inbound_rules'?: (_felix_Rule)[];
  'outbound_rules'?: (_felix_Rule)[];
}

export interface Profile__Output {
  'inbound_rules': (_felix_Rule__Output)[];
  'outbound_rules': (_felix_Rule__Output)[];
}
