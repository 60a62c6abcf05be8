// Program → nft text (the `nft -f` language of nftables 1.0). One rule per line; every
// identifier we emit is unquoted and contains a `-` (see names.ts).
import type {
  BaseHook,
  Chain,
  Match,
  PortRange,
  Program,
  Rule,
  SetDef,
  Statement,
  Verdict,
  VmapDef,
} from './program.js';

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function ipKeyword(family: 4 | 6): string {
  return family === 4 ? 'ip' : 'ip6';
}

function op(negate: boolean): string {
  return negate ? '!= ' : '';
}

function anySet(items: readonly string[]): string {
  return items.length === 1 ? (items[0] as string) : `{ ${items.join(', ')} }`;
}

function portText(r: PortRange): string {
  return r.first === r.last ? String(r.first) : `${r.first}-${r.last}`;
}

export function matchText(m: Match): string {
  switch (m.kind) {
    case 'iifname':
    case 'oifname':
      return `${m.kind} ${op(m.negate)}"${m.name}"`;
    case 'ct-state':
      return `ct state ${m.states.join(',')}`;
    case 'mark':
      return `meta mark & ${hex(m.bits)} ${m.isSet ? '!=' : '=='} 0`;
    case 'nfproto':
      return `meta nfproto ${m.family === 4 ? 'ipv4' : 'ipv6'}`;
    case 'l4proto':
      return `meta l4proto ${op(m.negate)}${anySet(m.protocols.map(String))}`;
    case 'addr':
      return `${ipKeyword(m.family)} ${m.dir} ${op(m.negate)}${anySet(m.cidrs)}`;
    case 'addr-set':
      return `${ipKeyword(m.family)} ${m.dir} ${op(m.negate)}@${m.set}`;
    case 'ports':
      return `th ${m.dir} ${op(m.negate)}${anySet(m.ranges.map(portText))}`;
    case 'addr-port-set': {
      const port = m.dir === 'saddr' ? 'sport' : 'dport';
      return `${ipKeyword(m.family)} ${m.dir} . meta l4proto . th ${port} ${op(m.negate)}@${m.set}`;
    }
    case 'icmp':
      return `${m.family === 4 ? 'icmp' : 'icmpv6'} ${m.field} ${op(m.negate)}${m.value}`;
    case 'icmpv6-types':
      return `icmpv6 type ${anySet(m.types.map(String))}`;
    case 'fib-daddr-local':
      return 'fib daddr type local';
    case 'limit':
      return `limit rate ${m.perSecond}/second`;
    default: {
      const never: never = m;
      return never;
    }
  }
}

function statementText(s: Statement): string {
  switch (s.kind) {
    case 'counter':
      return 'counter';
    case 'set-mark':
      return `meta mark set meta mark | ${hex(s.bits)}`;
    case 'clear-mark':
      return `meta mark set meta mark & ${hex(~s.bits)}`;
    case 'log':
      return `log prefix "${s.prefix}"`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

function verdictText(v: Verdict): string {
  switch (v.kind) {
    case 'accept':
    case 'drop':
    case 'return':
      return v.kind;
    case 'jump':
    case 'goto':
      return `${v.kind} ${v.chain}`;
    case 'vmap':
      return `${v.key} vmap @${v.map}`;
    default: {
      const never: never = v;
      return never;
    }
  }
}

/** One rule's text, as it goes after `add rule inet <table> <chain> ` or inside a chain block. */
export function ruleText(r: Rule): string {
  const parts = [...r.matches.map(matchText), ...r.statements.map(statementText)];
  if (r.verdict !== null) parts.push(verdictText(r.verdict));
  if (r.comment !== null) parts.push(`comment "${r.comment}"`);
  return parts.join(' ');
}

export function baseHookText(b: BaseHook): string {
  return `type ${b.type} hook ${b.hook} priority ${b.priority}; policy accept;`;
}

export function setTypeText(s: SetDef): string {
  const addr = s.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  return s.kind === 'addr' ? addr : `${addr} . inet_proto . inet_service`;
}

/** `{ a,\n b }` with one element per line, so huge sets do not make one huge line. */
export function elementsText(elements: readonly string[], indent: string): string {
  return `{ ${elements.join(`,\n${indent}`)} }`;
}

function setBlock(s: SetDef): string[] {
  const lines = [`\tset ${s.name} {`, `\t\ttype ${setTypeText(s)}`];
  if (s.interval) lines.push('\t\tflags interval');
  if (s.elements.length > 0) lines.push(`\t\telements = ${elementsText(s.elements, '\t\t\t')}`);
  lines.push('\t}');
  return lines;
}

export function vmapElements(m: VmapDef, ifaces: Iterable<string>): string[] {
  const out: string[] = [];
  for (const iface of ifaces) out.push(`"${iface}" : goto ${m.elements.get(iface) ?? ''}`);
  return out;
}

function mapBlock(m: VmapDef): string[] {
  const lines = [`\tmap ${m.name} {`, '\t\ttype ifname : verdict'];
  const els = vmapElements(m, [...m.elements.keys()].sort());
  if (els.length > 0) lines.push(`\t\telements = ${elementsText(els, '\t\t\t')}`);
  lines.push('\t}');
  return lines;
}

/** A chain as a block inside `table … { }`: its hook line (base chains), then its rules. */
export function chainBlock(c: Chain): string[] {
  const lines = [`\tchain ${c.name} {`];
  if (c.base !== null) lines.push(`\t\t${baseHookText(c.base)}`);
  for (const r of c.rules) lines.push(`\t\t${ruleText(r)}`);
  lines.push('\t}');
  return lines;
}

/** The table's whole body, in dependency order: sets, maps, then chains in program order. */
export function tableBlock(p: Program): string {
  const lines = [`table inet ${p.table} {`];
  for (const s of p.sets.values()) lines.push(...setBlock(s));
  for (const m of p.maps.values()) lines.push(...mapBlock(m));
  for (const c of p.chains.values()) lines.push(...chainBlock(c));
  lines.push('}');
  return lines.join('\n');
}

/**
 * One transaction that replaces our table whatever its current state: create it empty if it is
 * missing, delete it, build it again. Nothing else in the ruleset is touched, and the kernel
 * swaps old for new atomically, so no packet sees a half-built table.
 */
export function renderProgram(p: Program): string {
  return `table inet ${p.table} {}\ndelete table inet ${p.table}\n${tableBlock(p)}\n`;
}

export function removeTableText(table: string): string {
  return `table inet ${table} {}\ndelete table inet ${table}\n`;
}
