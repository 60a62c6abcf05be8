// Original file: /work/main/proto/felix/felixbackend.proto


export interface PortRange {
  'first'?: (number);
  'last'?: (number);
}

export interface PortRange__Output {
  'first': (number);
  'last': (number);
}
