// Original file: /work/main/proto/felix/felixbackend.proto


export interface IcmpTypeAndCode {
  'type'?: (number);
  'code'?: (number);
}

export interface IcmpTypeAndCode__Output {
  'type': (number);
  'code': (number);
}
