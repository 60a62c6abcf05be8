// Slots let compiled rules point at IP sets that come, go and change without recompiling; the
// store counts references to missing sets so a consistent store pays nothing for the check.
import { describe, expect, it } from 'vitest';
import { createIpSet } from './ip-set.js';
import { IpSetSlots } from './ip-set-slots.js';

describe('IpSetSlots', () => {
  it('a rule bound before its set arrives sees the set once it is put', () => {
    const slots = new IpSetSlots();
    const slot = slots.acquire('s:a');
    expect(slot.set).toBeNull();
    expect(slots.missingReferenced).toBe(1);
    const set = createIpSet('IP');
    slots.put('s:a', set);
    expect(slot.set).toBe(set);
    expect(slots.missingReferenced).toBe(0);
  });

  it('replacing a set keeps the slot, so bound rules see the new contents', () => {
    const slots = new IpSetSlots();
    slots.put('s:a', createIpSet('IP'));
    const slot = slots.acquire('s:a');
    const next = createIpSet('NET');
    slots.put('s:a', next);
    expect(slot.set).toBe(next);
    expect(slots.size).toBe(1);
  });

  it('removing a referenced set counts it missing until it is back or released', () => {
    const slots = new IpSetSlots();
    slots.put('s:a', createIpSet('IP'));
    const s1 = slots.acquire('s:a');
    const s2 = slots.acquire('s:a');
    slots.remove('s:a');
    expect(slots.missingReferenced).toBe(1);
    expect(slots.size).toBe(0);
    slots.release(s1);
    expect(slots.missingReferenced).toBe(1);
    slots.release(s2);
    expect(slots.missingReferenced).toBe(0);
    expect(slots.get('s:a')).toBeNull();
  });

  it('an unreferenced set stays stored after its last rule is released', () => {
    const slots = new IpSetSlots();
    slots.put('s:a', createIpSet('IP'));
    slots.release(slots.acquire('s:a'));
    expect(slots.get('s:a')).not.toBeNull();
    expect(slots.missingReferenced).toBe(0);
  });

  it('extra releases and removes of unknown ids change nothing', () => {
    const slots = new IpSetSlots();
    const slot = slots.acquire('s:a');
    slots.release(slot);
    slots.release(slot);
    slots.remove('s:nope');
    expect(slots.missingReferenced).toBe(0);
    expect(slots.size).toBe(0);
  });

  it('counts members over present sets', () => {
    const slots = new IpSetSlots();
    const a = createIpSet('IP');
    a.add('10.0.0.1');
    a.add('10.0.0.2');
    slots.put('s:a', a);
    slots.acquire('s:missing');
    expect(slots.memberCount()).toBe(2);
  });
});
