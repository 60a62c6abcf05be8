// Original file: /work/main/proto/felix/felixbackend.proto

import type { Rule as _felix_Rule, Rule__Output as _felix_Rule__Output } from './Rule.js';

export interface Policy {
  'inbound_rules'?: (_felix_Rule)[];
  'outbound_rules'?: (_felix_Rule)[];
  'untracked'?: (boolean);
  'pre_dnat'?: (boolean);
  'namespace'?: (string);
  'original_selector'?: (string);
  'tier'?: (string);
}

export interface Policy__Output {
  'inbound_rules': (_felix_Rule__Output)[];
  'outbound_rules': (_felix_Rule__Output)[];
  'untracked': (boolean);
  'pre_dnat': (boolean);
  'namespace': (string);
  'original_selector': (string);
  'tier': (string);
}
