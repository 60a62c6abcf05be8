// Which items carry (or require) label=value: the lookup behind the calculation's indexes, so a
// change looks only at the candidates one label value can concern, as Felix's label index does.

/**
 * Which entities have label=value, and which sets require label=value: an entity change then
 * looks only at the sets its labels can satisfy (plus sets without a required label and the
 * sets it is in), and a new set only at the entities carrying one of its required values,
 * rather than every entity against every set.
 */
export class LabelValueIndex<T> {
  private readonly byLabel = new Map<string, Map<string, Set<T>>>();

  add(label: string, value: string, item: T): void {
    let byValue = this.byLabel.get(label);
    if (byValue === undefined) this.byLabel.set(label, (byValue = new Map()));
    let items = byValue.get(value);
    if (items === undefined) byValue.set(value, (items = new Set()));
    items.add(item);
  }

  delete(label: string, value: string, item: T): void {
    const byValue = this.byLabel.get(label);
    const items = byValue?.get(value);
    if (items === undefined || byValue === undefined) return;
    items.delete(item);
    if (items.size > 0) return;
    byValue.delete(value);
    if (byValue.size === 0) this.byLabel.delete(label);
  }

  get(label: string, value: string): ReadonlySet<T> | undefined {
    return this.byLabel.get(label)?.get(value);
  }
}

/** 0 for a workload's own labels, 1 for its namespace's and service account's, 2 for Calico's. */
export function labelRank(label: string): number {
  if (label.startsWith('projectcalico.org/')) return 2;
  return label.startsWith('pcns.') || label.startsWith('pcsa.') ? 1 : 0;
}
