// Original file: /work/main/proto/felix/felixbackend.proto


export interface Protocol {
  'number'?: (number);
  'name'?: (string);
  'number_or_name'?: "number"|"name";
}

export interface Protocol__Output {
  'number'?: (number);
  'name'?: (string);
  'number_or_name'?: "number"|"name";
}
