// Original file: /work/main/proto/felix/felixbackend.proto


export interface RuleMetadata {
  'annotations'?: ({[key: string]: string});
}

export interface RuleMetadata__Output {
  'annotations': ({[key: string]: string});
}
