// Display formatting for numbers, steps, durations and timestamps.
// Pure functions: no React, no Intl state beyond the en-US digit grouping.

const EM_DASH = '—';
const MINUS = '−'; // U+2212, aligns with digits in tabular fonts

const SI_PREFIXES: ReadonlyArray<readonly [number, string]> = [
  [1e3, 'k'],
  [1e6, 'M'],
  [1e9, 'G'],
  [1e12, 'T'],
];

/** Drops trailing zeros of a fixed/precision string: "1.500" → "1.5", "2.000" → "2". */
function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function withSign(negative: boolean, body: string): string {
  return negative ? MINUS + body : body;
}

/** Mantissa with `digits` significant digits in exponent form: 0.0000123 → "1.23e-5". */
function exponent(abs: number, digits: number): string {
  const [mantissa, exp] = abs.toExponential(digits - 1).split('e');
  return `${trimZeros(mantissa ?? '')}e${Number(exp)}`;
}

/**
 * Formats a metric value compactly with about 4 significant digits.
 * Non-finite values are evidence, so they are spelled out ("NaN", "+Inf", "−Inf");
 * a missing value (null) is an em dash. Values from 1e4 up to 1e15 use SI suffixes
 * ("12.3k", "4.5M"); values below 1e-3 and above 1e15 use exponents ("1.2e-5").
 */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return EM_DASH;
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return `${MINUS}Inf`;
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const negative = value < 0;
  if (Number(abs.toPrecision(3)) >= 1e15 || abs < 1e-3) return withSign(negative, exponent(abs, Math.min(digits, 3)));
  // Compare after rounding so 9999.96 becomes "10k", not "1.000e+4".
  if (Number(abs.toPrecision(digits)) >= 1e4) return withSign(negative, siPrefixed(abs));
  // toPrecision would switch to exponent form once the integer part has more digits
  // than asked for (1000 → "1.00e+3"); whole digits are always shown instead.
  const intDigits = abs >= 1 ? Math.floor(Math.log10(abs)) + 1 : 0;
  const text = intDigits > 0 ? abs.toFixed(Math.max(0, digits - intDigits)) : abs.toPrecision(digits);
  return withSign(negative, trimZeros(text));
}

/** 3 significant digits and an SI suffix, for 1e4 ≤ abs < 1e15: "12.3k", "4.5M". */
function siPrefixed(abs: number): string {
  let i = 0;
  while (i + 1 < SI_PREFIXES.length && abs >= SI_PREFIXES[i + 1][0]) i++;
  let [scale, suffix] = SI_PREFIXES[i];
  let text = (abs / scale).toPrecision(3);
  // 999.96k rounds to "1000k": promote to the next prefix instead.
  if (Number(text) >= 1000 && i + 1 < SI_PREFIXES.length) {
    [scale, suffix] = SI_PREFIXES[i + 1];
    text = (abs / scale).toPrecision(3);
  }
  return trimZeros(text) + suffix;
}

/** Integer with thousands separators ("12,345"); null → em dash. Used for steps and counts. */
export function formatInteger(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return EM_DASH;
  const body = Math.abs(Math.round(value)).toLocaleString('en-US');
  return withSign(value < 0, body);
}

/**
 * Human duration of a span in seconds: "850ms", "42s", "3m 07s", "2h 05m", "3d 04h".
 * Two units at most: a run list needs the order of magnitude, not the exact second.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return EM_DASH;
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const total = Math.floor(seconds);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

/**
 * Parses an ISO-8601 timestamp to epoch milliseconds. A timestamp without a zone
 * designator is read as UTC, not local time: SQLite hands back naive datetimes, and
 * the server stores UTC. Returns null for missing or unparsable input.
 */
export function parseTimestamp(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso);
  const ms = Date.parse(hasZone || !iso.includes('T') ? iso : `${iso}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/** "just now", "12s ago", "5m ago", "3h ago", "2d ago"; older than 30 days → the date. */
export function formatRelative(iso: string | null | undefined, nowMs: number = Date.now()): string {
  const ms = parseTimestamp(iso);
  if (ms === null) return EM_DASH;
  const ageS = Math.floor((nowMs - ms) / 1000);
  if (ageS < 5) return 'just now'; // also absorbs small clock skew (future timestamps)
  if (ageS < 60) return `${ageS}s ago`;
  if (ageS < 3600) return `${Math.floor(ageS / 60)}m ago`;
  if (ageS < 86400) return `${Math.floor(ageS / 3600)}h ago`;
  if (ageS < 30 * 86400) return `${Math.floor(ageS / 86400)}d ago`;
  return formatTimestamp(iso).slice(0, 10);
}

/** Local wall-clock time "2024-03-01 14:22:05", for tooltips and headers. */
export function formatTimestamp(iso: string | null | undefined): string {
  const ms = parseTimestamp(iso);
  if (ms === null) return EM_DASH;
  const t = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ` +
    `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`
  );
}

/** Seconds between two timestamps, or null when either is missing. */
export function secondsBetween(fromIso: string | null | undefined, toIso: string | null | undefined): number | null {
  const a = parseTimestamp(fromIso);
  const b = parseTimestamp(toIso);
  return a === null || b === null ? null : (b - a) / 1000;
}
