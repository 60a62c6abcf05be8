// Which FelixConfiguration resources configure one node, in Felix's order (spec wireguard.md
// §1.3): `node.<nodename>` over the one selector-scoped resource whose `spec.nodeSelector`
// matches the node's labels, over `default`. Fields are then looked up layer by layer, each
// field on its own, so a field the node resource leaves unset falls through to the next layer.
// Pure: resources and labels in, layers and reasons out.
//
// As in Felix's config batcher: the name decides the role (`default`, `node.*`, anything else);
// a resource of any other name applies only through a non-empty, parsable nodeSelector; when
// several match, only the oldest by creationTimestamp applies (ties broken by name), so a newly
// created conflicting resource cannot disturb a working configuration; a node whose Node does
// not exist matches no selector.
import type { Labels } from './labels.js';
import { parseSelectorCached } from './selector/index.js';
import { fieldOf, isRecord } from './spec-fields.js';

export interface FelixConfigurationResource {
  readonly name: string;
  /** metadata.creationTimestamp in ms; missing or unparsable sorts first, as Go's zero time does. */
  readonly createdMs: number;
  readonly spec: Readonly<Record<string, unknown>>;
}

export type FelixConfigSource = 'node' | 'selector' | 'default';

export interface FelixConfigLayer {
  readonly source: FelixConfigSource;
  readonly name: string;
  readonly spec: Readonly<Record<string, unknown>>;
}

export interface FelixConfigSelection {
  /** Highest precedence first; a layer whose resource does not exist is left out. */
  readonly layers: readonly FelixConfigLayer[];
  /** Selector-scoped resources that were skipped, and why. */
  readonly problems: readonly { readonly name: string; readonly reason: string }[];
}

export const GLOBAL_CONFIG_NAME = 'default';
const PER_NODE_PREFIX = 'node.';

/** A FelixConfiguration read from untrusted JSON; null without a name. A non-object spec is empty. */
export function felixConfigurationFromObject(obj: unknown): FelixConfigurationResource | null {
  const metadata = fieldOf(obj, 'metadata');
  const name = fieldOf(metadata, 'name');
  if (typeof name !== 'string' || name === '') return null;
  const created = fieldOf(metadata, 'creationTimestamp');
  const createdMs =
    typeof created === 'string' ? Date.parse(created) : created instanceof Date ? created.getTime() : NaN;
  const spec = fieldOf(obj, 'spec');
  return {
    name,
    createdMs: Number.isNaN(createdMs) ? Number.NEGATIVE_INFINITY : createdMs,
    spec: isRecord(spec) ? spec : {},
  };
}

/**
 * The layers that configure `nodeName`. `nodeLabels` is null when the node's Node does not exist
 * (then no selector-scoped resource applies, as in Felix).
 */
export function selectFelixConfigurations(
  resources: readonly FelixConfigurationResource[],
  nodeName: string,
  nodeLabels: Labels | null,
): FelixConfigSelection {
  let perNode: FelixConfigurationResource | undefined;
  let global: FelixConfigurationResource | undefined;
  const matching: FelixConfigurationResource[] = [];
  const problems: { name: string; reason: string }[] = [];
  for (const r of resources) {
    if (r.name === GLOBAL_CONFIG_NAME) global = r;
    else if (r.name === `${PER_NODE_PREFIX}${nodeName}`) perNode = r;
    else if (r.name.startsWith(PER_NODE_PREFIX)) continue;
    else {
      const text = r.spec['nodeSelector'];
      // Without a selector such a resource configures nobody.
      if (typeof text !== 'string' || text === '') continue;
      const parsed = parseSelectorCached(text);
      if (!parsed.ok) {
        problems.push({ name: r.name, reason: `nodeSelector does not parse: ${parsed.error}` });
        continue;
      }
      if (nodeLabels !== null && parsed.selector.matches(nodeLabels)) matching.push(r);
    }
  }
  matching.sort(olderFirst);
  const selected = matching[0];
  if (matching.length > 1) {
    problems.push(
      ...matching.slice(1).map((r) => ({
        name: r.name,
        reason: `also selects this node; ${selected?.name ?? ''} is older and applies`,
      })),
    );
  }
  const layers: FelixConfigLayer[] = [];
  if (perNode !== undefined) layers.push({ source: 'node', name: perNode.name, spec: perNode.spec });
  if (selected !== undefined) layers.push({ source: 'selector', name: selected.name, spec: selected.spec });
  if (global !== undefined) layers.push({ source: 'default', name: global.name, spec: global.spec });
  return { layers, problems };
}

/**
 * A spec field of one layer; null and the empty string count as unset, as in Felix, whose update
 * processor turns both into "no value" so the next layer down decides.
 */
export function layerField(layer: FelixConfigLayer, name: string): unknown {
  const v = layer.spec[name];
  return v === null || v === '' ? undefined : v;
}

function olderFirst(a: FelixConfigurationResource, b: FelixConfigurationResource): number {
  if (a.createdMs !== b.createdMs) return a.createdMs < b.createdMs ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
