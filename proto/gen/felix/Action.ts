// Original file: /work/main/proto/felix/felixbackend.proto

export const Action = {
  ALLOWED: 'ALLOWED',
  DENIED: 'DENIED',
} as const;

export type Action =
  | 'ALLOWED'
  | 0
  | 'DENIED'
  | 1

export type Action__Output = typeof Action[keyof typeof Action]
