// The shape of our table, to notice changes made behind our back (a flushed table, a deleted
// chain, an edited rule): the chains with their rule counts, and the sets and maps by name. The
// expected shape is read from a full rendering of the state last applied, the live one from
// `nft -j list table`. Pure.

export interface TableShape {
  /** Chain name → number of rules. */
  readonly chains: ReadonlyMap<string, number>;
  /** Set and map names. */
  readonly sets: ReadonlySet<string>;
}

/**
 * The shape of the table a full rendering builds: `chain NAME {` blocks (their rules are the
 * lines up to the closing `}`, less the base chain's `type … hook …` line) and `set`/`map` blocks,
 * inside the last `table inet <table> {` block of the text.
 */
export function renderedShape(text: string, table: string): TableShape {
  const chains = new Map<string, number>();
  const sets = new Set<string>();
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.lastIndexOf(`table inet ${table} {`);
  if (start < 0) return { chains, sets };
  let chain: string | null = null;
  let inSet = false;
  for (const line of lines.slice(start + 1)) {
    if (chain !== null) {
      if (line === '}') chain = null;
      else if (line !== '' && !/^type \S+ hook /.test(line)) chains.set(chain, (chains.get(chain) ?? 0) + 1);
      continue;
    }
    if (inSet) {
      if (line === '}') inSet = false;
      continue;
    }
    const c = /^chain (\S+) \{$/.exec(line);
    if (c !== null) {
      chain = c[1] as string;
      chains.set(chain, 0);
      continue;
    }
    const s = /^(?:set|map) (\S+) \{$/.exec(line);
    if (s !== null) {
      sets.add(s[1] as string);
      inSet = true;
      continue;
    }
    if (line === '}') break;
  }
  return { chains, sets };
}

/** The shape of `nft -j list table inet <table>` output; null when it is not that JSON. */
export function liveShape(json: string): TableShape | null {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return null;
  }
  const items = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) return null;
  const chains = new Map<string, number>();
  const sets = new Set<string>();
  for (const item of items as Record<string, { name?: unknown; chain?: unknown }>[]) {
    if (typeof item !== 'object' || item === null) continue;
    if (item.chain !== undefined && typeof item.chain.name === 'string')
      chains.set(item.chain.name, chains.get(item.chain.name) ?? 0);
    else if (item.rule !== undefined && typeof item.rule.chain === 'string')
      chains.set(item.rule.chain, (chains.get(item.rule.chain) ?? 0) + 1);
    else if (item.set !== undefined && typeof item.set.name === 'string') sets.add(item.set.name);
    else if (item.map !== undefined && typeof item.map.name === 'string') sets.add(item.map.name);
  }
  return { chains, sets };
}

/** How `live` differs from `expected`, in a few words for the log; null when they match. */
export function shapeDifference(expected: TableShape, live: TableShape | null): string | null {
  if (live === null) return 'table missing';
  const problems: string[] = [];
  for (const [name, rules] of expected.chains) {
    const got = live.chains.get(name);
    if (got === undefined) problems.push(`chain ${name} missing`);
    else if (got !== rules) problems.push(`chain ${name} has ${got} rules, want ${rules}`);
  }
  for (const name of live.chains.keys())
    if (!expected.chains.has(name)) problems.push(`unexpected chain ${name}`);
  for (const name of expected.sets) if (!live.sets.has(name)) problems.push(`set ${name} missing`);
  if (problems.length === 0) return null;
  const shown = problems.slice(0, 5).join('; ');
  return problems.length > 5 ? `${shown}; and ${problems.length - 5} more` : shown;
}
