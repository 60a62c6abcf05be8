// Original file: /work/main/proto/felix/felixbackend.proto


export interface NamespaceID {
  'name'?: (string);
}

export interface NamespaceID__Output {
  'name': (string);
}
