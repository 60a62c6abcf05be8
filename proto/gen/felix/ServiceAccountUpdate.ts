// Original file: /work/main/proto/felix/felixbackend.proto

import type { ServiceAccountID as _felix_ServiceAccountID, ServiceAccountID__Output as _felix_ServiceAccountID__Output } from './ServiceAccountID.js';

export interface ServiceAccountUpdate {
  'id'?: (_felix_ServiceAccountID | null);
  'labels'?: ({[key: string]: string});
}

export interface ServiceAccountUpdate__Output {
  'id': (_felix_ServiceAccountID__Output | null);
  'labels': ({[key: string]: string});
}
