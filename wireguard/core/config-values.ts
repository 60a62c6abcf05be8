// The value parsers behind config.ts's field table: Felix's forms for booleans, integers,
// durations, route-table ranges and interface names, each returning a value or a reason. Pure.
import { parseGoDurationMs } from './go-duration.js';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export interface FieldSpec<T> {
  /** FelixConfiguration spec names, preferred first (a deprecated alias may follow). */
  readonly yaml: readonly string[];
  /** Felix parameter names; the variable is FELIX_<NAME>, matched case-insensitively. */
  readonly env: readonly string[];
  readonly defaultValue: T;
  parse(raw: unknown): Parsed<T>;
}

const IFACE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;
const RESERVED_TABLES = new Set([253, 254, 255]);

export function boolField(yaml: string[], env: string[], defaultValue: boolean): FieldSpec<boolean> {
  return {
    yaml,
    env,
    defaultValue,
    parse: (raw) => {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      if (typeof raw === 'string') {
        const t = raw.toLowerCase();
        if (['true', '1', 'yes', 'y', 't'].includes(t)) return { ok: true, value: true };
        if (['false', '0', 'no', 'n', 'f'].includes(t)) return { ok: true, value: false };
      }
      return reject('not a boolean');
    },
  };
}

export function intField(
  yaml: string[],
  env: string[],
  defaultValue: number,
  min: number,
  max: number,
): FieldSpec<number> {
  return {
    yaml,
    env,
    defaultValue,
    parse: (raw) => {
      const n = parseInteger(raw);
      if (n === null) return reject('not an integer');
      if (n < min || n > max) return reject(`must be between ${min} and ${max}`);
      return { ok: true, value: n };
    },
  };
}

export function mtuField(yaml: string[], env: string[], smallest: number): FieldSpec<number> {
  return {
    yaml,
    env,
    defaultValue: 0,
    parse: (raw) => {
      const n = parseInteger(raw);
      if (n === null) return reject('not an integer');
      if (n !== 0 && (n < smallest || n > 65535))
        return reject(`must be 0 (auto) or between ${smallest} and 65535`);
      return { ok: true, value: n };
    },
  };
}

export function ifaceField(yaml: string[], env: string[], defaultValue: string): FieldSpec<string> {
  return {
    yaml,
    env,
    defaultValue,
    parse: (raw) =>
      typeof raw === 'string' && IFACE_NAME.test(raw)
        ? { ok: true, value: raw }
        : reject('not an interface name (1-15 of a-z A-Z 0-9 _ . -)'),
  };
}

/** Integers as JSON numbers or as decimal / 0x-hex text (Felix parses ints with base 0). */
export function parseInteger(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : null;
  if (typeof raw !== 'string') return null;
  const m = /^([+-]?)(?:0x([0-9a-f]+)|(\d+))$/i.exec(raw.trim());
  if (m === null) return null;
  const n = m[2] !== undefined ? parseInt(m[2], 16) : Number(m[3]);
  const signed = m[1] === '-' ? -n : n;
  return Number.isSafeInteger(signed) ? signed : null;
}

/** A number or numeric text means seconds (Felix's env form); other text is a Go duration. */
export function parseDurationMs(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw * 1000 : null;
  if (typeof raw !== 'string') return null;
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  return parseGoDurationMs(raw.trim());
}

export function parseRouteTableIndex(raw: unknown): Parsed<number> {
  const ranges: { min: number; max: number }[] = [];
  if (typeof raw === 'string') {
    for (const part of raw.split(',')) {
      const m = /^\s*(\d+)-(\d+)\s*$/.exec(part);
      if (m === null) return reject('not a list of route-table ranges like 1-250');
      ranges.push({ min: Number(m[1]), max: Number(m[2]) });
    }
  } else {
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      const min = parseInteger((item as { min?: unknown } | null)?.min);
      const max = parseInteger((item as { max?: unknown } | null)?.max);
      if (min === null || max === null) return reject('not a list of {min, max} ranges');
      ranges.push({ min, max });
    }
  }
  if (ranges.length === 0) return reject('no route-table range given');
  for (const r of ranges) {
    if (r.min <= 0 || r.min > r.max || r.max > 0xffffffff)
      return reject('each range needs 0 < min <= max < 2^32');
  }
  for (const r of ranges) {
    for (let t = r.min; t <= r.max; t++) if (!RESERVED_TABLES.has(t)) return { ok: true, value: t };
  }
  return reject('ranges hold only the reserved tables 253-255');
}

export function reject(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
