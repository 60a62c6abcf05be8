// Prometheus metrics. The four device metrics carry Calico's names, labels and help texts
// (spec §7) and are read from `wg show <iface> dump` at scrape time, cached for 1 s. Unlike
// Felix, which reports every WireGuard device on the host, only the devices we manage are
// reported, and a peer that never completed a handshake reports 0 rather than Go's zero time.
// Our own reconcile metrics are prefixed `alp_wireguard_`.
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IpFamily } from '../../calico/ip.js';
import type { WgDump } from '../core/wg-dump.js';

export interface DeviceSnapshot {
  readonly iface: string;
  readonly dump: WgDump;
}

const CACHE_MS = 1_000;

export class WireguardMetrics {
  readonly reconciles: Counter<'family' | 'kind'>;
  readonly errors: Counter<'family'>;
  readonly lastDuration: Gauge<'family' | 'kind'>;
  readonly peers: Gauge<'family'>;
  private cache: { at: number; devices: Promise<readonly DeviceSnapshot[]> } | null = null;
  private readonly host = hostname();

  constructor(
    registry: Registry,
    /** Reads our enabled devices; called at most once a second, at scrape time. */
    private readonly readDevices: () => Promise<readonly DeviceSnapshot[]>,
    /** prometheusWireGuardMetricsEnabled: the four Calico metrics are empty while false. */
    private readonly isEnabled: () => boolean,
  ) {
    const snapshot = (): Promise<readonly DeviceSnapshot[]> => this.snapshot();
    const host = this.host;
    new Gauge({
      name: 'wireguard_meta',
      help: 'wireguard interface and runtime metadata',
      labelNames: ['hostname', 'public_key', 'iface', 'listen_port'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { iface, dump } of await snapshot()) {
          this.set(
            {
              hostname: host,
              public_key: dump.publicKey ?? '',
              iface,
              listen_port: String(dump.listenPort),
            },
            1,
          );
        }
      },
    });
    const peerLabels = ['hostname', 'public_key', 'peer_key', 'peer_endpoint'] as const;
    const perPeer =
      (set: (labels: Record<(typeof peerLabels)[number], string>, p: WgDump['peers'][number]) => void) =>
      async (): Promise<void> => {
        for (const { dump } of await snapshot()) {
          for (const p of dump.peers) {
            set(
              {
                hostname: host,
                public_key: dump.publicKey ?? '',
                peer_key: p.publicKey,
                peer_endpoint: p.endpoint ?? '<nil>',
              },
              p,
            );
          }
        }
      };
    const rcvd: Counter<(typeof peerLabels)[number]> = new Counter({
      name: 'wireguard_bytes_rcvd',
      help: 'wireguard interface incoming bytes count from peer',
      labelNames: peerLabels,
      registers: [registry],
      async collect() {
        rcvd.reset();
        await perPeer((labels, p) => rcvd.inc(labels, p.rxBytes))();
      },
    });
    const sent: Counter<(typeof peerLabels)[number]> = new Counter({
      name: 'wireguard_bytes_sent',
      help: 'wireguard interface outgoing bytes count to peer',
      labelNames: peerLabels,
      registers: [registry],
      async collect() {
        sent.reset();
        await perPeer((labels, p) => sent.inc(labels, p.txBytes))();
      },
    });
    const handshake: Gauge<(typeof peerLabels)[number]> = new Gauge({
      name: 'wireguard_latest_handshake_seconds',
      help: 'wireguard interface latest handshake unix timestamp in seconds to a peer',
      labelNames: peerLabels,
      registers: [registry],
      async collect() {
        handshake.reset();
        await perPeer((labels, p) => handshake.set(labels, p.latestHandshakeSeconds))();
      },
    });
    this.reconciles = new Counter({
      name: 'alp_wireguard_reconciles_total',
      help: 'Dataplane reconciles completed, by family and kind (full resync or delta).',
      labelNames: ['family', 'kind'] as const,
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'alp_wireguard_reconcile_errors_total',
      help: 'Reconciles that failed (each is retried as a full resync).',
      labelNames: ['family'] as const,
      registers: [registry],
    });
    this.lastDuration = new Gauge({
      name: 'alp_wireguard_last_reconcile_duration_seconds',
      help: 'Duration of the last completed reconcile, by family and kind.',
      labelNames: ['family', 'kind'] as const,
      registers: [registry],
    });
    this.peers = new Gauge({
      name: 'alp_wireguard_peers',
      help: 'WireGuard peers programmed, by family.',
      labelNames: ['family'] as const,
      registers: [registry],
    });
  }

  reconciled(family: IpFamily, kind: 'full' | 'delta', durationMs: number, peers: number): void {
    this.reconciles.inc({ family: `v${family}`, kind });
    this.lastDuration.set({ family: `v${family}`, kind }, durationMs / 1000);
    this.peers.set({ family: `v${family}` }, peers);
  }

  failed(family: IpFamily): void {
    this.errors.inc({ family: `v${family}` });
  }

  private snapshot(): Promise<readonly DeviceSnapshot[]> {
    if (!this.isEnabled()) return Promise.resolve([]);
    const now = Date.now();
    if (this.cache === null || now - this.cache.at >= CACHE_MS) {
      this.cache = { at: now, devices: this.readDevices().catch(() => []) };
    }
    return this.cache.devices;
  }
}
