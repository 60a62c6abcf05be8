// Original file: /work/main/proto/felix/felixbackend.proto

import type { ProfileID as _felix_ProfileID, ProfileID__Output as _felix_ProfileID__Output } from './ProfileID.js';
import type { Profile as _felix_Profile, Profile__Output as _felix_Profile__Output } from './Profile.js';

export interface ActiveProfileUpdate {
  'id'?: (_felix_ProfileID | null);
  'profile'?: (_felix_Profile | null);
}

export interface ActiveProfileUpdate__Output {
  'id': (_felix_ProfileID__Output | null);
  'profile': (_felix_Profile__Output | null);
}
