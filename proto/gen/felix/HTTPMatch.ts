// Original file: /work/main/proto/felix/felixbackend.proto


export interface _felix_HTTPMatch_PathMatch {
  'exact'?: (string);
  'prefix'?: (string);
  'path_match'?: "exact"|"prefix";
}

export interface _felix_HTTPMatch_PathMatch__Output {
  'exact'?: (string);
  'prefix'?: (string);
  'path_match'?: "exact"|"prefix";
}

export interface HTTPMatch {
  'methods'?: (string)[];
  'paths'?: (_felix_HTTPMatch_PathMatch)[];
}

export interface HTTPMatch__Output {
  'methods': (string)[];
  'paths': (_felix_HTTPMatch_PathMatch__Output)[];
}
