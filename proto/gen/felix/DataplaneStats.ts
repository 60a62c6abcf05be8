// Original file: /work/main/proto/felix/felixbackend.proto

import type { Protocol as _felix_Protocol, Protocol__Output as _felix_Protocol__Output } from './Protocol.js';
import type { Statistic as _felix_Statistic, Statistic__Output as _felix_Statistic__Output } from './Statistic.js';
import type { RuleTrace as _felix_RuleTrace, RuleTrace__Output as _felix_RuleTrace__Output } from './RuleTrace.js';
import type { Action as _felix_Action, Action__Output as _felix_Action__Output } from './Action.js';

export interface DataplaneStats {
  'src_ip'?: (string);
  'dst_ip'?: (string);
  'src_port'?: (number);
  'dst_port'?: (number);
  'protocol'?: (_felix_Protocol | null);
  'stats'?: (_felix_Statistic)[];
  'rules'?: (_felix_RuleTrace)[];
  'action'?: (_felix_Action);
}

export interface DataplaneStats__Output {
  'src_ip': (string);
  'dst_ip': (string);
  'src_port': (number);
  'dst_port': (number);
  'protocol': (_felix_Protocol__Output | null);
  'stats': (_felix_Statistic__Output)[];
  'rules': (_felix_RuleTrace__Output)[];
  'action': (_felix_Action__Output);
}
