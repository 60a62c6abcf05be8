// Original file: /work/main/proto/felix/felixbackend.proto

export const IPVersion = {
  ANY: 'ANY',
  IPV4: 'IPV4',
  IPV6: 'IPV6',
} as const;

export type IPVersion =
  | 'ANY'
  | 0
  | 'IPV4'
  | 4
  | 'IPV6'
  | 6

export type IPVersion__Output = typeof IPVersion[keyof typeof IPVersion]
