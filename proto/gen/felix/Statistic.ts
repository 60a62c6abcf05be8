// Original file: /work/main/proto/felix/felixbackend.proto

import type { Action as _felix_Action, Action__Output as _felix_Action__Output } from './Action.js';
import type { Long } from '@grpc/proto-loader';

// Original file: /work/main/proto/felix/felixbackend.proto

export const _felix_Statistic_Direction = {
  IN: 'IN',
  OUT: 'OUT',
} as const;

export type _felix_Statistic_Direction =
  | 'IN'
  | 0
  | 'OUT'
  | 1

export type _felix_Statistic_Direction__Output = typeof _felix_Statistic_Direction[keyof typeof _felix_Statistic_Direction]

// Original file: /work/main/proto/felix/felixbackend.proto

export const _felix_Statistic_Kind = {
  PACKETS: 'PACKETS',
  BYTES: 'BYTES',
} as const;

export type _felix_Statistic_Kind =
  | 'PACKETS'
  | 0
  | 'BYTES'
  | 1

export type _felix_Statistic_Kind__Output = typeof _felix_Statistic_Kind[keyof typeof _felix_Statistic_Kind]

// Original file: /work/main/proto/felix/felixbackend.proto

export const _felix_Statistic_Relativity = {
  ABSOLUTE: 'ABSOLUTE',
  DELTA: 'DELTA',
} as const;

export type _felix_Statistic_Relativity =
  | 'ABSOLUTE'
  | 0
  | 'DELTA'
  | 1

export type _felix_Statistic_Relativity__Output = typeof _felix_Statistic_Relativity[keyof typeof _felix_Statistic_Relativity]

export interface Statistic {
  'direction'?: (_felix_Statistic_Direction);
  'relativity'?: (_felix_Statistic_Relativity);
  'kind'?: (_felix_Statistic_Kind);
  'action'?: (_felix_Action);
  'value'?: (number | string | Long);
}

export interface Statistic__Output {
  'direction': (_felix_Statistic_Direction__Output);
  'relativity': (_felix_Statistic_Relativity__Output);
  'kind': (_felix_Statistic_Kind__Output);
  'action': (_felix_Action__Output);
  'value': (number);
}
