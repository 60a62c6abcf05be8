import { describe, expect, it } from 'vitest';
import { parsePod } from './k8s-objects.js';

const pod = (
  over: Record<string, unknown> = {},
  status: Record<string, unknown> = { podIP: '10.0.0.1' },
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'prod', uid: 'u1', labels: { app: 'web' }, ...over },
  spec: {
    nodeName: 'n1',
    serviceAccountName: 'web-sa',
    containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }],
  },
  status,
});

describe('parsePod', () => {
  it('reads identity, placement, labels, IPs and named ports', () => {
    const r = parsePod(pod());
    expect(r.ok && { ...r.value, labels: Object.fromEntries(r.value.labels) }).toEqual({
      namespace: 'prod',
      name: 'web',
      uid: 'u1',
      nodeName: 'n1',
      labels: { app: 'web' },
      serviceAccount: 'web-sa',
      ips: ['10.0.0.1'],
      namedPorts: [{ name: 'http', protocol: 'tcp', port: 8080 }],
      hostNetwork: false,
      finished: false,
      hasSidecar: false,
    });
  });

  it('refuses a pod whose labels or annotations are not all strings, naming each one', () => {
    const r = parsePod(pod({ labels: { app: 'web', replicas: 3 }, annotations: { a: 'x', b: null } }));
    expect(r).toEqual({
      ok: false,
      reason: 'metadata.labels.replicas: must be a string; metadata.annotations.b: must be a string',
    });
    // Labels that are all strings are read as they are.
    const ok = parsePod(pod({ labels: { app: 'web', tier: '' } }));
    expect(ok.ok && Object.fromEntries(ok.value.labels)).toEqual({ app: 'web', tier: '' });
  });

  it.each([
    [
      'status.podIPs wins over podIP',
      { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
      {},
      ['10.0.0.1', 'fd00::1'],
    ],
    [
      'Calico’s podIPs annotation is used without a status',
      {},
      { annotations: { 'cni.projectcalico.org/podIPs': '10.0.0.7/32' } },
      ['10.0.0.7'],
    ],
    ['unparsable addresses are dropped', { podIP: '010.0.0.1' }, {}, []],
    [
      'an octet above 255 is unparsable',
      { podIPs: [{ ip: '10.0.0.256' }, { ip: '10.0.0.255' }] },
      {},
      ['10.0.0.255'],
    ],
    [
      'a host prefix and white space are cut',
      { podIPs: [{ ip: ' 10.0.0.2/32' }, { ip: '0.0.0.0' }] },
      {},
      ['10.0.0.2', '0.0.0.0'],
    ],
    ['IPv6 is written canonically', { podIP: 'FD00:0::0:1' }, {}, ['fd00::1']],
  ])('IPs: %s', (_rule, status, meta, ips) => {
    const r = parsePod(pod(meta, status));
    expect(r.ok && r.value.ips).toEqual(ips);
  });

  it.each([
    ['a Succeeded pod no longer owns its IP', { phase: 'Succeeded', podIP: '10.0.0.1' }, {}, true],
    [
      'a deleting pod whose IP Calico released',
      { podIP: '10.0.0.1' },
      { deletionTimestamp: '2026-01-01T00:00:00Z', annotations: { 'cni.projectcalico.org/podIP': '' } },
      true,
    ],
    ['a running pod', { phase: 'Running', podIP: '10.0.0.1' }, {}, false],
  ])('finished: %s', (_rule, status, meta, finished) => {
    const r = parsePod(pod(meta, status));
    expect(r.ok && r.value.finished).toBe(finished);
  });

  it('a container named dikastes or the opt-in annotation marks the sidecar', () => {
    const withContainer = parsePod({ ...pod(), spec: { containers: [{ name: 'dikastes' }] } });
    const withAnnotation = parsePod(pod({ annotations: { 'alp-mesh.io/policy-sync': 'true' } }));
    expect(withContainer.ok && withContainer.value.hasSidecar).toBe(true);
    expect(withAnnotation.ok && withAnnotation.value.hasSidecar).toBe(true);
  });

  it('never throws on junk', () => {
    for (const raw of [
      null,
      1,
      'x',
      { metadata: 5 },
      { metadata: { name: 'a' }, spec: { containers: 'x' } },
    ]) {
      expect(() => parsePod(raw)).not.toThrow();
    }
  });
});
