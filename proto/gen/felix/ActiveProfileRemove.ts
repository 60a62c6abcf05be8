// Original file: /work/main/proto/felix/felixbackend.proto

import type { ProfileID as _felix_ProfileID, ProfileID__Output as _felix_ProfileID__Output } from './ProfileID.js';

export interface ActiveProfileRemove {
  'id'?: (_felix_ProfileID | null);
}

export interface ActiveProfileRemove__Output {
  'id': (_felix_ProfileID__Output | null);
}
