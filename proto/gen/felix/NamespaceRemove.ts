// Original file: /work/main/proto/felix/felixbackend.proto

import type { NamespaceID as _felix_NamespaceID, NamespaceID__Output as _felix_NamespaceID__Output } from './NamespaceID.js';

export interface NamespaceRemove {
  'id'?: (_felix_NamespaceID | null);
}

export interface NamespaceRemove__Output {
  'id': (_felix_NamespaceID__Output | null);
}
