import { describe, expect, it } from 'vitest';
import type { ResourceEvent } from '../calc/cluster-model.js';
import { ObjectTracker } from './object-tracker.js';

function tracker() {
  const events: ResourceEvent[] = [];
  const refused: string[] = [];
  const t = new ObjectTracker({
    onEvent: (e) => events.push(e),
    onRejected: (ref, reason) => refused.push(`${ref.name}: ${reason}`),
    onWarning: () => undefined,
  });
  return { t, events, refused };
}

const gnp = (selector: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'crd.projectcalico.org/v1',
  kind: 'GlobalNetworkPolicy',
  metadata: { name: 'p' },
  spec: { selector, ...extra },
});

describe('ObjectTracker', () => {
  it('passes a valid object on and swallows an identical update', () => {
    const { t, events } = tracker();
    t.upsert(gnp('all()'));
    t.upsert(gnp('all()'));
    expect(events.map((e) => e.type)).toEqual(['upsert']);
  });

  it('refuses an invalid update once and keeps the last valid revision in force', () => {
    const { t, events, refused } = tracker();
    t.upsert(gnp("app == 'a'"));
    t.upsert(gnp('&&'));
    t.upsert(gnp('&&'));
    expect(events.map((e) => e.type)).toEqual(['upsert']);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('spec.selector: invalid selector');
    t.upsert(gnp("app == 'b'"));
    expect(events.map((e) => e.type)).toEqual(['upsert', 'upsert']);
  });

  it('deletes what it applied, and nothing for an object it never applied', () => {
    const { t, events } = tracker();
    t.upsert(gnp('&&'));
    t.remove(gnp('&&'));
    expect(events).toEqual([]);
    t.upsert(gnp('all()'));
    t.remove(gnp('all()'));
    expect(events.map((e) => e.type)).toEqual(['upsert', 'delete']);
  });

  it('ignores kinds it does not use', () => {
    const { t, events } = tracker();
    expect(t.upsert({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).toBeNull();
    expect(events).toEqual([]);
  });

  it('delivers an object again after a callback threw on it, instead of taking it as unchanged', () => {
    const events: ResourceEvent[] = [];
    let failNext = true;
    const t = new ObjectTracker({
      onEvent: (e) => {
        if (failNext) {
          failNext = false;
          throw new Error('handler failed');
        }
        events.push(e);
      },
      onRejected: () => undefined,
      onWarning: () => undefined,
    });
    expect(() => t.upsert(gnp('all()'))).toThrow('handler failed');
    t.upsert(gnp('all()'));
    expect(events.map((e) => e.type)).toEqual(['upsert']);
  });

  it('delivers a deletion again after a callback threw on it', () => {
    const events: ResourceEvent[] = [];
    let failDelete = true;
    const t = new ObjectTracker({
      onEvent: (e) => {
        if (e.type === 'delete' && failDelete) {
          failDelete = false;
          throw new Error('handler failed');
        }
        events.push(e);
      },
      onRejected: () => undefined,
      onWarning: () => undefined,
    });
    t.upsert(gnp('all()'));
    expect(() => t.remove(gnp('all()'))).toThrow('handler failed');
    t.remove(gnp('all()'));
    expect(events.map((e) => e.type)).toEqual(['upsert', 'delete']);
  });
});
