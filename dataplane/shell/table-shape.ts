// The shape of our table, to notice changes made behind our back (a flushed table, a deleted
// chain, a rule added or removed): the chains with their rule counts, and the sets and maps by
// name. The expected shape is read from a full rendering of the state last applied, the live one
// from `nft -j list table`. An edit that keeps the shape (a rule swapped for another, a set
// element swapped) shows in the contents: a digest of each chain's rules and each set's elements,
// compared with the previous check's wherever no transaction of ours touched them since. Pure.
import { createHash } from 'node:crypto';

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

/** What a check reads off the live table. */
export interface LiveTable {
  readonly shape: TableShape;
  /** `chain NAME` / `set NAME` → digest of its rules (in order) or elements (in any order). */
  readonly contents: ReadonlyMap<string, string>;
}

/** Shape and contents of `nft -j list table inet <table>` output; null when it is not that JSON. */
export function readLiveTable(json: string): LiveTable | null {
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
  /** Key → the pieces its digest is made of. */
  const parts = new Map<string, string[]>();
  const add = (key: string, part: string) => {
    const list = parts.get(key);
    if (list === undefined) parts.set(key, [part]);
    else list.push(part);
  };
  type Item = { name?: unknown; chain?: unknown; expr?: unknown; comment?: unknown; elem?: unknown };
  for (const item of items as Record<string, Item>[]) {
    if (typeof item !== 'object' || item === null) continue;
    const { chain, rule } = item;
    const set = item.set ?? item.map;
    if (chain !== undefined && typeof chain.name === 'string') {
      chains.set(chain.name, chains.get(chain.name) ?? 0);
      // A base chain's hook, priority and policy are part of what it does; handles are not.
      const { handle: _h, ...hook } = chain as Record<string, unknown>;
      add(`chain ${chain.name}`, stableJson(hook));
    } else if (rule !== undefined && typeof rule.chain === 'string') {
      chains.set(rule.chain, (chains.get(rule.chain) ?? 0) + 1);
      add(`chain ${rule.chain}`, stableJson([rule.expr, rule.comment ?? null]));
    } else if (set !== undefined && typeof set.name === 'string') {
      sets.add(set.name);
      const { handle: _h, elem, ...definition } = set as Record<string, unknown>;
      const elements = Array.isArray(elem) ? elem.map(stableJson).sort() : [];
      add(`set ${set.name}`, stableJson(definition));
      for (const e of elements) add(`set ${set.name}`, e);
    }
  }
  const contents = new Map<string, string>();
  for (const [key, list] of parts) {
    const hash = createHash('sha1');
    for (const part of list) hash.update(part).update('\n');
    contents.set(key, hash.digest('base64'));
  }
  return { shape: { chains, sets }, contents };
}

/** JSON with counters' packet and byte counts left out: they change with traffic, not with edits. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) =>
    key === 'counter' && typeof v === 'object' && v !== null && 'packets' in v ? 'anonymous' : v,
  );
}

/**
 * The chains and sets (by name) a transaction of ours creates, changes or deletes: the objects of
 * its `add|flush|delete|… chain|set|map|element|rule inet <table> NAME` commands and of the
 * `chain NAME {` / `set NAME {` / `map NAME {` blocks it declares.
 */
export function touchedNames(text: string, table: string): string[] {
  const escaped = table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const command = new RegExp(
    `^\\s*(?:add|create|insert|replace|flush|delete|destroy) (?:chain|set|map|element|rule) inet ${escaped} (\\S+)`,
    'gm',
  );
  const block = /^\s*(?:chain|set|map) (\S+) \{/gm;
  const names: string[] = [];
  for (const m of text.matchAll(command)) names.push(m[1] as string);
  for (const m of text.matchAll(block)) names.push(m[1] as string);
  return names;
}

/**
 * Contents that changed between two checks though no transaction of ours touched them (by
 * name), in a few words for the log; null when none did. Objects present in only one of the two
 * are the shape's to report.
 */
export function contentDifference(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  touched: ReadonlySet<string>,
): string | null {
  const problems: string[] = [];
  for (const [key, digest] of after) {
    const was = before.get(key);
    if (was === undefined || was === digest) continue;
    const name = key.slice(key.indexOf(' ') + 1);
    if (!touched.has(name))
      problems.push(key.startsWith('chain ') ? `${key} edited` : `${key} elements changed`);
  }
  return summary(problems);
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
  return summary(problems);
}

/** The first five problems, and how many more; null for none. */
function summary(problems: readonly string[]): string | null {
  if (problems.length === 0) return null;
  const shown = problems.slice(0, 5).join('; ');
  return problems.length > 5 ? `${shown}; and ${problems.length - 5} more` : shown;
}
