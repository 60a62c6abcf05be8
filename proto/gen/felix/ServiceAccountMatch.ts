// Original file: /work/main/proto/felix/felixbackend.proto


export interface ServiceAccountMatch {
  'selector'?: (string);
  'names'?: (string)[];
}

export interface ServiceAccountMatch__Output {
  'selector': (string);
  'names': (string)[];
}
