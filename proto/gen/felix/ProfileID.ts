// Original file: /work/main/proto/felix/felixbackend.proto


export interface ProfileID {
  'name'?: (string);
}

export interface ProfileID__Output {
  'name': (string);
}
