// The layer table: one row per layer of a heatmap matrix, with its latest value, range
// statistics and an outlier flag. Pure.
//
// Outliers use the modified z-score of Iglewicz & Hoaglin (1993), z = 0.6745·(x − median)/MAD,
// flagged at |z| > 3.5, computed across layers on the latest values: robust to the very
// outliers it looks for (a mean/stddev z-score is dragged by them). Values that span
// decades (norms, ratios) are compared in log10; families with zeros (dead fractions)
// linearly. A non-finite latest value is always an outlier.

import type { MatrixResponse } from '../api/types';

export const OUTLIER_Z = 3.5;

export interface LayerRow {
  /** Position in model order. */
  index: number;
  layer: string;
  /** The last non-empty cell (may be NaN/±Inf) and the step its bucket starts at. */
  latest: number | null;
  latestStep: number | null;
  min: number | null;
  median: number | null;
  max: number | null;
  /** Buckets holding NaN/±Inf. */
  nonfinite: number;
  /** Modified z-score of `latest` across layers; null when it cannot be computed. */
  z: number | null;
  outlier: boolean;
}

export function median(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const mid = n >> 1;
  return n % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const byNumber = (a: number, b: number) => a - b;

/**
 * Modified z-scores of `values` (null entries stay null). With MAD = 0 (more than half the
 * values equal) it falls back to the mean absolute deviation (× 1.2533, its normal-consistent
 * scale, as Iglewicz & Hoaglin suggest); when that is 0 too, every finite z is null.
 */
export function robustZ(values: readonly (number | null)[], log: boolean): (number | null)[] {
  const t = values.map((v) => (v === null || !Number.isFinite(v) ? null : log ? (v > 0 ? Math.log10(v) : null) : v));
  const finite = t.filter((v): v is number => v !== null).sort(byNumber);
  const med = median(finite);
  if (med === null) return t.map(() => null);
  const mad = median(finite.map((v) => Math.abs(v - med)).sort(byNumber)) ?? 0;
  let scale = mad / 0.6745;
  if (scale === 0) {
    const meanAd = finite.reduce((s, v) => s + Math.abs(v - med), 0) / finite.length;
    scale = meanAd * 1.2533;
  }
  return t.map((v) => (v === null || scale === 0 ? null : (v - med) / scale));
}

export function layerRows(matrix: Pick<MatrixResponse, 'layers' | 'step' | 'values'>): LayerRow[] {
  const rows: LayerRow[] = matrix.layers.map((layer, index) => {
    const row = matrix.values[index] ?? [];
    let latest: number | null = null;
    let latestStep: number | null = null;
    let nonfinite = 0;
    const finite: number[] = [];
    for (let j = 0; j < row.length; j++) {
      const v = row[j];
      if (v === null || v === undefined) continue;
      latest = v;
      latestStep = matrix.step[j] ?? null;
      if (Number.isFinite(v)) finite.push(v);
      else nonfinite++;
    }
    finite.sort(byNumber);
    return {
      index,
      layer,
      latest,
      latestStep,
      min: finite.length ? (finite[0] as number) : null,
      median: median(finite),
      max: finite.length ? (finite[finite.length - 1] as number) : null,
      nonfinite,
      z: null,
      outlier: false,
    };
  });
  const latest = rows.map((r) => r.latest);
  const z = robustZ(latest, mostlyPositive(latest));
  rows.forEach((row, i) => {
    row.z = z[i] ?? null;
    row.outlier = (row.latest !== null && !Number.isFinite(row.latest)) || (row.z !== null && Math.abs(row.z) > OUTLIER_Z);
  });
  return rows;
}

/**
 * Compare in log space when at least 90 % of the finite values are positive: one layer at
 * exactly 0 (a frozen bias) must not switch a gradient-norm family to a linear scale, where
 * the top decade would all look like outliers. Families full of zeros (dead fractions) stay linear.
 */
export function mostlyPositive(values: readonly (number | null)[]): boolean {
  let finite = 0;
  let positive = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    finite++;
    if (v > 0) positive++;
  }
  return finite > 0 && positive >= 0.9 * finite;
}

export type LayerColumn = 'index' | 'layer' | 'latest' | 'min' | 'median' | 'max' | 'z' | 'nonfinite';
export type SortDirection = 'asc' | 'desc';

/**
 * Rows sorted by a column. Missing values sort last in either direction; NaN/±Inf sort
 * as the most extreme values (they are what the user is hunting for). Ties keep model order.
 */
export function sortRows(rows: readonly LayerRow[], column: LayerColumn, direction: SortDirection): LayerRow[] {
  const sign = direction === 'asc' ? 1 : -1;
  const key = (row: LayerRow): number | string | null => {
    const v = row[column];
    if (typeof v === 'string' || v === null) return v;
    if (column === 'z' && v !== null) return Math.abs(v);
    return Number.isNaN(v) ? Infinity : v;
  };
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === null || kb === null) return ka === kb ? a.index - b.index : ka === null ? 1 : -1;
    if (ka < kb) return -sign;
    if (ka > kb) return sign;
    return a.index - b.index;
  });
}
