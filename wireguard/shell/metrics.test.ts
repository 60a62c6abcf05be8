// Calico's WireGuard metrics (spec §7, §8.5 case 88), fed by a plain function standing in for
// `wg show dump`, plus our reconcile metrics.
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { WireguardMetrics, type DeviceSnapshot } from './metrics.js';

const A = Buffer.alloc(32, 0xa).toString('base64');
const B = Buffer.alloc(32, 0xb).toString('base64');

function device(rx: number): DeviceSnapshot {
  return {
    iface: 'wireguard.cali',
    dump: {
      publicKey: A,
      listenPort: 51820,
      firewallMark: 0x200000,
      peers: [
        {
          publicKey: B,
          endpoint: '10.0.0.2:1002',
          allowedIps: [],
          latestHandshakeSeconds: 1_700_000_000,
          rxBytes: rx,
          txBytes: 512,
          persistentKeepaliveSeconds: 0,
        },
      ],
    },
  };
}

describe('WireguardMetrics', () => {
  it('exposes Calico’s four metrics with Calico’s labels', async () => {
    const registry = new Registry();
    new WireguardMetrics(
      registry,
      async () => [device(1536)],
      () => true,
    );
    const text = await registry.metrics();
    const host = hostname();
    const peer = `hostname="${host}",public_key="${A}",peer_key="${B}",peer_endpoint="10.0.0.2:1002"`;
    expect(text).toContain(
      `wireguard_meta{hostname="${host}",public_key="${A}",iface="wireguard.cali",listen_port="51820"} 1`,
    );
    expect(text).toContain(`wireguard_bytes_rcvd{${peer}} 1536`);
    expect(text).toContain(`wireguard_bytes_sent{${peer}} 512`);
    expect(text).toContain(`wireguard_latest_handshake_seconds{${peer}} 1700000000`);
    expect(text).toContain('# HELP wireguard_bytes_rcvd wireguard interface incoming bytes count from peer');
    expect(text).toContain('# TYPE wireguard_bytes_rcvd counter');
  });

  it('reads the devices at most once a second, however often it is scraped', async () => {
    const registry = new Registry();
    let reads = 0;
    new WireguardMetrics(
      registry,
      async () => [device(100 * ++reads)],
      () => true,
    );
    const first = await registry.metrics();
    const second = await registry.metrics();
    expect(reads).toBe(1);
    expect(second).toBe(first);
  });

  it('reports no device metrics while prometheusWireGuardMetricsEnabled is false', async () => {
    const registry = new Registry();
    new WireguardMetrics(
      registry,
      async () => [device(1)],
      () => false,
    );
    expect(await registry.metrics()).not.toMatch(/^wireguard_meta\{/m);
  });

  it('counts reconciles and errors and keeps the last duration and peer count', async () => {
    const registry = new Registry();
    const m = new WireguardMetrics(
      registry,
      async () => [],
      () => true,
    );
    m.reconciled(4, 'full', 1500, 3);
    m.reconciled(4, 'delta', 20, 4);
    m.failed(4);
    const text = await registry.metrics();
    expect(text).toContain('alp_wireguard_reconciles_total{family="v4",kind="full"} 1');
    expect(text).toContain('alp_wireguard_last_reconcile_duration_seconds{family="v4",kind="delta"} 0.02');
    expect(text).toContain('alp_wireguard_peers{family="v4"} 4');
    expect(text).toContain('alp_wireguard_reconcile_errors_total{family="v4"} 1');
  });
});
