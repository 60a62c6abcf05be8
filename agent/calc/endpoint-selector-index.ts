// Which policies could select an endpoint, by a label value their endpoint selector requires
// (`app == "web"` can only select endpoints with app=web): a new or relabelled endpoint then
// evaluates those selectors only, not every policy's. No I/O: a data structure only.
import type { Labels } from '../../calico/labels.js';
import { requiredLabels, type RequiredLabel } from '../../calico/selector/required-label.js';
import { LABEL_ORCHESTRATOR } from '../../calico/workload-labels.js';
import type { CompiledPolicy } from './compiled-policy.js';
import { LabelValueIndex, labelRank } from './label-value-index.js';

interface Entry {
  policy: CompiledPolicy;
  /** The policies' insertion order, which callers walk in (IP sets activate in it). */
  readonly seq: number;
  required: RequiredLabel | null;
}

export class EndpointSelectorIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byLabel = new LabelValueIndex<Entry>();
  private readonly unindexed = new Set<Entry>();
  private nextSeq = 0;

  /** Adds or replaces a policy; a replaced one keeps its place in the order. */
  set(p: CompiledPolicy): void {
    let entry = this.entries.get(p.key);
    if (entry === undefined)
      this.entries.set(p.key, (entry = { policy: p, seq: this.nextSeq++, required: null }));
    else this.unindex(entry);
    entry.policy = p;
    entry.required = preferred(requiredLabels(p.endpointSelector.root));
    if (entry.required === null) this.unindexed.add(entry);
    else for (const v of entry.required.values) this.byLabel.add(entry.required.label, v, entry);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.unindex(entry);
  }

  /**
   * The policies whose selector may match `labels`, plus those named in `alsoKeys` (the ones an
   * endpoint has now, so that it can drop them), each once, in insertion order.
   */
  candidates(labels: Labels, alsoKeys: Iterable<string>): CompiledPolicy[] {
    const found = new Set<Entry>(this.unindexed);
    labels.forEach((value, label) => this.byLabel.get(label, value)?.forEach((e) => found.add(e)));
    for (const key of alsoKeys) {
      const e = this.entries.get(key);
      if (e !== undefined) found.add(e);
    }
    const out = [...found];
    if (out.length > 1) out.sort((a, b) => a.seq - b.seq);
    return out.map((e) => e.policy);
  }

  private unindex(entry: Entry): void {
    if (entry.required === null) this.unindexed.delete(entry);
    else for (const v of entry.required.values) this.byLabel.delete(entry.required.label, v, entry);
  }
}

/**
 * The requirement on the workload's own labels if there is one, else on its namespace's or service
 * account's, else Calico's own; orchestrator == "k8s" (on every pod) last; fewer values first.
 */
function preferred(requirements: readonly RequiredLabel[]): RequiredLabel | null {
  let best: RequiredLabel | null = null;
  let bestRank = Infinity;
  for (const r of requirements) {
    const rank = labelRank(r.label) + (r.label === LABEL_ORCHESTRATOR ? 1 : 0);
    if (rank < bestRank || (rank === bestRank && best !== null && r.values.length < best.values.length)) {
      best = r;
      bestRank = rank;
    }
  }
  return best;
}
