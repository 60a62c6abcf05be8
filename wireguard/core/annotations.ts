// What our Node's WireGuard annotations should say, given each family's state (spec §2.4):
// the public key while the family is enabled and programmed, and the device address when we
// chose it (network + 1 of our pod CIDR); both removed when the family is disabled. Pure.
import type { IpFamily } from '../../calico/ip.js';
import {
  ANNOTATION_INTERFACE_ADDR_V4,
  ANNOTATION_INTERFACE_ADDR_V6,
  ANNOTATION_PUBLIC_KEY_V4,
  ANNOTATION_PUBLIC_KEY_V6,
} from './node-info.js';
import type { SelfAddress } from './peer-table-types.js';

/** What one family's reconciler last applied, as the annotations need it. */
export interface FamilyStatus {
  readonly family: IpFamily;
  readonly enabled: boolean;
  readonly publicKey: string;
  readonly selfAddress: SelfAddress | null;
  readonly peers: number;
}

/** Annotation → new value, or null to delete it (a JSON merge patch's `annotations`). */
export type AnnotationChanges = Readonly<Record<string, string | null>>;

/**
 * The changes that bring `current` in line with the families' statuses; null when none are
 * needed. A family with no status yet (never applied) is left alone.
 */
export function annotationChanges(
  current: Readonly<Record<string, string>>,
  statuses: readonly FamilyStatus[],
): AnnotationChanges | null {
  const changes: Record<string, string | null> = {};
  for (const s of statuses) {
    const { key, addr } = names(s.family);
    if (!s.enabled) {
      if (key in current) changes[key] = null;
      if (addr in current) changes[addr] = null;
      continue;
    }
    if (current[key] !== s.publicKey) changes[key] = s.publicKey;
    // An address from someone else's allocator (source "annotation") is theirs to manage; a host
    // address used with host encryption is never published, as in Calico.
    if (s.selfAddress?.source === 'pod-cidr' && current[addr] !== s.selfAddress.ip)
      changes[addr] = s.selfAddress.ip;
  }
  return Object.keys(changes).length === 0 ? null : changes;
}

function names(family: IpFamily): { key: string; addr: string } {
  return family === 4
    ? { key: ANNOTATION_PUBLIC_KEY_V4, addr: ANNOTATION_INTERFACE_ADDR_V4 }
    : { key: ANNOTATION_PUBLIC_KEY_V6, addr: ANNOTATION_INTERFACE_ADDR_V6 };
}
