// Original file: /work/main/proto/felix/felixbackend.proto


export interface IPSetRemove {
  'id'?: (string);
}

export interface IPSetRemove__Output {
  'id': (string);
}
