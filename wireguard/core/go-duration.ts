// Go's time.ParseDuration text ("90s", "1m30s", "1.5h", "250ms"), the form FelixConfiguration
// durations take in the CRD. Returns milliseconds, or null for anything Go would reject.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function parseGoDurationMs(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  while (rest !== '') {
    const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (m === null) return null;
    const whole = m[1] ?? '';
    const frac = m[2];
    if (whole === '' && (frac === undefined || frac === '')) return null;
    const value = Number(`${whole === '' ? '0' : whole}.${frac ?? '0'}`);
    total += value * (UNIT_MS[m[3] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return Number.isFinite(total) ? sign * total : null;
}
