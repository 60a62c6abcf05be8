// The Check metrics as a scrape shows them: counts and durations are tallied in plain numbers and
// read by prom-client only when scraped, in prom-client's own exposition format.
import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from './metrics.js';

describe('Check metrics', () => {
  it('counts per result and a cumulative duration histogram, only for results seen', async () => {
    const m = createSidecarMetrics(() => null);
    m.checks.record('allowed', 0.00003);
    m.checks.record('allowed', 0.0003);
    m.checks.record('denied', 0.002);
    m.checks.record('denied', 5); // past the last bucket: only +Inf
    const text = await m.registry.metrics();
    const lines = text.split('\n');
    expect(lines).toContain('dikastes_checks_total{result="allowed"} 2');
    expect(lines).toContain('dikastes_checks_total{result="denied"} 2');
    expect(text).not.toContain('result="internal"');
    expect(lines).toContain('# TYPE dikastes_check_duration_seconds histogram');
    expect(lines).toContain('dikastes_check_duration_seconds_bucket{le="0.00005",result="allowed"} 1');
    expect(lines).toContain('dikastes_check_duration_seconds_bucket{le="0.0005",result="allowed"} 2');
    expect(lines).toContain('dikastes_check_duration_seconds_bucket{le="0.001",result="denied"} 0');
    expect(lines).toContain('dikastes_check_duration_seconds_bucket{le="0.0025",result="denied"} 1');
    expect(lines).toContain('dikastes_check_duration_seconds_bucket{le="0.2",result="denied"} 1');
    expect(lines).toContain('dikastes_check_duration_seconds_bucket{le="+Inf",result="denied"} 2');
    expect(lines).toContain('dikastes_check_duration_seconds_count{result="denied"} 2');
    expect(lines).toContain('dikastes_check_duration_seconds_sum{result="denied"} 5.002');
    // A second scrape reads the same totals (the counter is rebuilt, not added to again).
    expect((await m.registry.metrics()).split('\n')).toContain('dikastes_checks_total{result="allowed"} 2');
  });
});
