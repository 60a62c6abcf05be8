// IP-set members still in the bytes they arrived in: a PolicySync reader (sidecar/policy-sync-wire.ts)
// may hand them over this way, beside the usual string array, so that the store can add a NET
// set's plain `a.b.c.d/len` members without making a string of each (a production snapshot has
// about a million). Only a reader that decoded the message itself attaches them.

/** The members of one repeated string field: bytes [offsets[2i], offsets[2i+1]) of `buf`, UTF-8. */
export interface WireMembers {
  readonly buf: Uint8Array;
  readonly offsets: Int32Array;
}

/** The property under which a decoded IPSetUpdate carries its members' bytes. */
export const WIRE_MEMBERS: unique symbol = Symbol('ip-set members as bytes');
