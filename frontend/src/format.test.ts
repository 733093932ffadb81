import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatInteger,
  formatNumber,
  formatRelative,
  formatTimestamp,
  parseTimestamp,
  secondsBetween,
} from './format';

describe('formatNumber', () => {
  it('spells out non-finite values and missing values', () => {
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe('−Inf');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
  });

  it('shows mid-range values with 4 significant digits and no trailing zeros', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(3.14159)).toBe('3.142');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(2)).toBe('2');
    expect(formatNumber(1234)).toBe('1234');
    expect(formatNumber(0.001234)).toBe('0.001234');
    expect(formatNumber(-2.5)).toBe('−2.5');
  });

  it('uses SI suffixes from 1e4 up', () => {
    expect(formatNumber(12345)).toBe('12.3k');
    expect(formatNumber(999_960)).toBe('1M'); // not "1000k"
    expect(formatNumber(4_500_000)).toBe('4.5M');
    expect(formatNumber(7.2e9)).toBe('7.2G');
    expect(formatNumber(3e12)).toBe('3T');
    expect(formatNumber(-25_000)).toBe('−25k');
    expect(formatNumber(9999.96)).toBe('10k'); // rounding crosses into SI
  });

  it('uses exponents for tiny and huge magnitudes', () => {
    expect(formatNumber(0.000012)).toBe('1.2e-5');
    expect(formatNumber(0.00012345)).toBe('1.23e-4');
    expect(formatNumber(-3e-8)).toBe('−3e-8');
    expect(formatNumber(2.5e18)).toBe('2.5e18');
    expect(formatNumber(1e-300)).toBe('1e-300');
  });

  it('honours a lower digit count for axis ticks', () => {
    expect(formatNumber(3.14159, 3)).toBe('3.14');
    expect(formatNumber(1000, 3)).toBe('1000'); // never "1.00e+3"
    expect(formatNumber(2500, 3)).toBe('2500');
    expect(formatNumber(999.95, 4)).toBe('1000'); // rounding up keeps whole digits
    expect(formatNumber(0.12345, 3)).toBe('0.123');
  });
});

describe('formatInteger', () => {
  it('groups thousands and rounds', () => {
    expect(formatInteger(0)).toBe('0');
    expect(formatInteger(1234567)).toBe('1,234,567');
    expect(formatInteger(12.6)).toBe('13');
    expect(formatInteger(-1500)).toBe('−1,500');
  });

  it('shows a dash for missing or non-finite values', () => {
    expect(formatInteger(null)).toBe('—');
    expect(formatInteger(Number.NaN)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('picks the two largest units', () => {
    expect(formatDuration(0.25)).toBe('250ms');
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(187)).toBe('3m 07s');
    expect(formatDuration(2 * 3600 + 5 * 60 + 59)).toBe('2h 05m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d 04h');
  });

  it('shows a dash for missing, negative or non-finite spans', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('timestamps', () => {
  const now = Date.parse('2024-03-10T12:00:00Z');

  it('reads zone-less ISO timestamps as UTC', () => {
    expect(parseTimestamp('2024-03-10T11:59:00')).toBe(Date.parse('2024-03-10T11:59:00Z'));
    expect(parseTimestamp('2024-03-10T11:59:00.123456')).toBe(Date.parse('2024-03-10T11:59:00.123Z'));
    expect(parseTimestamp('2024-03-10T13:59:00+02:00')).toBe(Date.parse('2024-03-10T11:59:00Z'));
    expect(parseTimestamp('not a date')).toBeNull();
    expect(parseTimestamp(null)).toBeNull();
  });

  it('formats relative ages', () => {
    expect(formatRelative('2024-03-10T11:59:58Z', now)).toBe('just now');
    expect(formatRelative('2024-03-10T12:00:03Z', now)).toBe('just now'); // clock skew
    expect(formatRelative('2024-03-10T11:59:30Z', now)).toBe('30s ago');
    expect(formatRelative('2024-03-10T11:55:00Z', now)).toBe('5m ago');
    expect(formatRelative('2024-03-10T09:00:00Z', now)).toBe('3h ago');
    expect(formatRelative('2024-03-08T12:00:00Z', now)).toBe('2d ago');
    expect(formatRelative('2023-12-01T12:00:00Z', now)).toMatch(/^2023-12-0[12]$/);
    expect(formatRelative(null, now)).toBe('—');
  });

  it('formats absolute local times and spans', () => {
    expect(formatTimestamp('2024-03-10T11:59:00Z')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:59:00$/);
    expect(secondsBetween('2024-03-10T11:00:00Z', '2024-03-10T11:01:30Z')).toBe(90);
    expect(secondsBetween('2024-03-10T11:00:00Z', null)).toBeNull();
  });
});
