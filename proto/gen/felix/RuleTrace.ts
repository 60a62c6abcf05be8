// Original file: /work/main/proto/felix/felixbackend.proto

import type { PolicyID as _felix_PolicyID, PolicyID__Output as _felix_PolicyID__Output } from './PolicyID.js';
import type { ProfileID as _felix_ProfileID, ProfileID__Output as _felix_ProfileID__Output } from './ProfileID.js';

// Original file: /work/main/proto/felix/felixbackend.proto

export const _felix_RuleTrace_Direction = {
  INBOUND: 'INBOUND',
  OUTBOUND: 'OUTBOUND',
} as const;

export type _felix_RuleTrace_Direction =
  | 'INBOUND'
  | 0
  | 'OUTBOUND'
  | 1

export type _felix_RuleTrace_Direction__Output = typeof _felix_RuleTrace_Direction[keyof typeof _felix_RuleTrace_Direction]

export interface RuleTrace {
  'policy'?: (_felix_PolicyID | null);
  'profile'?: (_felix_ProfileID | null);
  'none'?: (boolean);
  'direction'?: (_felix_RuleTrace_Direction);
  'rule_num'?: (number);
  'id'?: "policy"|"profile"|"none";
}

export interface RuleTrace__Output {
  'policy'?: (_felix_PolicyID__Output | null);
  'profile'?: (_felix_ProfileID__Output | null);
  'none'?: (boolean);
  'direction': (_felix_RuleTrace_Direction__Output);
  'rule_num': (number);
  'id'?: "policy"|"profile"|"none";
}
