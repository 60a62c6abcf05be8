// Original file: /work/main/proto/felix/felixbackend.proto


export interface IPSetDeltaUpdate {
  'id'?: (string);
  'added_members'?: (string)[];
  'removed_members'?: (string)[];
}

export interface IPSetDeltaUpdate__Output {
  'id': (string);
  'added_members': (string)[];
  'removed_members': (string)[];
}
