// Parser for `ip -o monitor link` lines, which tell us when our device disappears, reappears or
// goes down behind our back, so the controller can resync at once instead of waiting for the
// periodic resync (Felix waits up to 90 s, spec §9.9). Untrusted text: never throws.

export interface LinkEvent {
  readonly iface: string;
  readonly isDeleted: boolean;
  readonly isUp: boolean;
}

const LINE = /^(Deleted )?\d+: ([^:@\s]+)(?:@[^:\s]*)?: <([^>]*)>/;

export function parseLinkEvent(line: string): LinkEvent | null {
  const m = LINE.exec(line);
  if (m === null) return null;
  const flags = (m[3] as string).split(',');
  return { iface: m[2] as string, isDeleted: m[1] !== undefined, isUp: flags.includes('UP') };
}
