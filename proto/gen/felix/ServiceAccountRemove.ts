// Original file: /work/main/proto/felix/felixbackend.proto

import type { ServiceAccountID as _felix_ServiceAccountID, ServiceAccountID__Output as _felix_ServiceAccountID__Output } from './ServiceAccountID.js';

export interface ServiceAccountRemove {
  'id'?: (_felix_ServiceAccountID | null);
}

export interface ServiceAccountRemove__Output {
  'id': (_felix_ServiceAccountID__Output | null);
}
