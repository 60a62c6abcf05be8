// Original file: /work/main/proto/felix/felixbackend.proto


// Original file: /work/main/proto/felix/felixbackend.proto

export const _felix_IPSetUpdate_IPSetType = {
  IP: 'IP',
  IP_AND_PORT: 'IP_AND_PORT',
  NET: 'NET',
} as const;

export type _felix_IPSetUpdate_IPSetType =
  | 'IP'
  | 0
  | 'IP_AND_PORT'
  | 1
  | 'NET'
  | 2

export type _felix_IPSetUpdate_IPSetType__Output = typeof _felix_IPSetUpdate_IPSetType[keyof typeof _felix_IPSetUpdate_IPSetType]

export interface IPSetUpdate {
  'id'?: (string);
  'members'?: (string)[];
  'type'?: (_felix_IPSetUpdate_IPSetType);
}

export interface IPSetUpdate__Output {
  'id': (string);
  'members': (string)[];
  'type': (_felix_IPSetUpdate_IPSetType__Output);
}
