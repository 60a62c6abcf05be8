// Original file: /work/main/proto/felix/felixbackend.proto


export interface ServiceAccountID {
  'namespace'?: (string);
  'name'?: (string);
}

export interface ServiceAccountID__Output {
  'namespace': (string);
  'name': (string);
}
