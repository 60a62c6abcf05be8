// Original file: /work/main/proto/felix/felixbackend.proto


export interface PolicyID {
  'name'?: (string);
  'namespace'?: (string);
  'kind'?: (string);
}

export interface PolicyID__Output {
  'name': (string);
  'namespace': (string);
  'kind': (string);
}
