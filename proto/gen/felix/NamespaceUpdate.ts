// Original file: /work/main/proto/felix/felixbackend.proto

import type { NamespaceID as _felix_NamespaceID, NamespaceID__Output as _felix_NamespaceID__Output } from './NamespaceID.js';

export interface NamespaceUpdate {
  'id'?: (_felix_NamespaceID | null);
  'labels'?: ({[key: string]: string});
}

export interface NamespaceUpdate__Output {
  'id': (_felix_NamespaceID__Output | null);
  'labels': ({[key: string]: string});
}
