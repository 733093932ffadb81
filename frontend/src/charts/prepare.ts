// Turns one decoded series entry into uPlot's AlignedData. Pure: no React, no fetch.
//
// Column layout (the options builder in options.ts relies on it):
//   0 x        step (first step of each bucket)
//   1 max      upper edge of the min–max band
//   2 min      lower edge of the band
//   3 mean     the line: bucket mean, or the value itself when the series is raw
//   4 marker   non-finite marker code at buckets holding NaN/±Inf, else null
//   5 smooth   exponential moving average of the line (all null when smoothing is off)
//
// The band is why a single spike stays visible at every zoom level: a bucket's mean
// dilutes a one-step spike, its max does not. Markers are codes rather than y values:
// options.ts draws them at the plot's top edge and reads the code for the legend.

import type uPlot from 'uplot';
import type { SeriesEntry } from '../api/types';

export const COL = { x: 0, max: 1, min: 2, mean: 3, marker: 4, smooth: 5 } as const;

/** Marker codes for a raw point; a bucketed marker's code is its non-finite count (≥ 1). */
export const MARKER_NAN = -1;
export const MARKER_POS_INF = -2;
export const MARKER_NEG_INF = -3;

export type Column = Float64Array | (number | null)[];

export interface PreparedChart {
  data: uPlot.AlignedData;
  /** Buckets with a drawable line value (what `data-points` reports). */
  points: number;
  /** Buckets carrying a non-finite marker. */
  markers: number;
  /** The last value as logged (may be NaN/±Inf), for the panel header. */
  latest: number | null;
}

export interface PrepareOptions {
  /** A log axis cannot draw values ≤ 0, so they become gaps instead of -Infinity. */
  log?: boolean;
  /** EMA weight in [0, 1): 0 leaves the smooth column empty. */
  smooth?: number;
}

/**
 * A y column. uPlot reads `null` as a gap, but a Float64Array cannot hold null (it
 * would become 0 and draw a false dip to zero), so a column with gaps stays a plain
 * array and only a gap-free column becomes a typed array.
 */
export function toColumn(values: readonly (number | null)[]): Column {
  return values.includes(null) ? [...values] : Float64Array.from(values as readonly number[]);
}

function drawable(v: number | null | undefined, log: boolean): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  return log && v <= 0 ? null : v;
}

/** The marker code of bucket `i`, or null when the bucket is all finite. */
export function markerCode(entry: SeriesEntry, i: number): number | null {
  const value = entry.last[i] ?? null;
  if (entry.raw && value !== null && !Number.isFinite(value)) {
    if (Number.isNaN(value)) return MARKER_NAN;
    return value > 0 ? MARKER_POS_INF : MARKER_NEG_INF;
  }
  const n = entry.nonfinite[i] ?? 0;
  return n > 0 ? n : null;
}

/**
 * Debiased exponential moving average (TensorBoard's smoothing): s_t = w·s_{t−1} + (1−w)·v_t,
 * divided by 1 − w^n so the first points are not pulled towards 0. Gaps stay gaps and do
 * not reset the average. Over buckets, one step of the average is one bucket, so the same
 * weight smooths more steps when zoomed out; that is what keeps the curve's look stable
 * across zoom levels at the cost of step-exact semantics.
 */
export function ema(values: readonly (number | null)[], weight: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length).fill(null);
  if (!(weight > 0 && weight < 1)) return out;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    acc = weight * acc + (1 - weight) * v;
    n++;
    out[i] = acc / (1 - weight ** n);
  }
  return out;
}

const EMPTY: PreparedChart = {
  data: [new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0), [], []],
  points: 0,
  markers: 0,
  latest: null,
};

export function prepareSeries(entry: SeriesEntry | undefined, options: PrepareOptions = {}): PreparedChart {
  if (!entry || entry.step.length === 0) return EMPTY;
  const log = options.log === true;
  const n = entry.step.length;
  const max: (number | null)[] = new Array(n);
  const min: (number | null)[] = new Array(n);
  const mean: (number | null)[] = new Array(n);
  const marker: (number | null)[] = new Array(n);
  let points = 0;
  let markers = 0;

  for (let i = 0; i < n; i++) {
    // A raw bucket is one logged point: `last` is that value, non-finite included.
    const line = entry.raw ? (entry.last[i] ?? entry.mean[i]) : entry.mean[i];
    mean[i] = drawable(line, log);
    max[i] = entry.raw ? mean[i] : drawable(entry.max[i], log);
    min[i] = entry.raw ? mean[i] : drawable(entry.min[i], log);
    marker[i] = markerCode(entry, i);
    if (mean[i] !== null) points++;
    if (marker[i] !== null) markers++;
  }

  const smooth = options.smooth ? ema(mean, options.smooth) : new Array<null>(n).fill(null);
  return {
    data: [Float64Array.from(entry.step), toColumn(max), toColumn(min), toColumn(mean), marker, smooth],
    points,
    markers,
    latest: entry.last[n - 1] ?? null,
  };
}

function countFinite(column: ArrayLike<number | null | undefined> | undefined): number {
  if (!column) return 0;
  let count = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) count++;
  }
  return count;
}

/** Drawable line points in prepared data (the panel reports it after each setData). */
export function countPoints(data: uPlot.AlignedData): number {
  return countFinite(data[COL.mean]);
}

/** Buckets carrying a non-finite marker in prepared data. */
export function countMarkers(data: uPlot.AlignedData): number {
  return countFinite(data[COL.marker]);
}

/** The values under the cursor, for the panel's readout line. */
export interface Readout {
  step: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Marker code (see describeMarker), null when the bucket is all finite. */
  marker: number | null;
  /** The smoothed line, null when smoothing is off. */
  smooth: number | null;
}

export function readoutAt(data: uPlot.AlignedData, idx: number | null | undefined): Readout | null {
  const xs = data[COL.x];
  if (idx === null || idx === undefined || !xs || idx < 0 || idx >= xs.length) return null;
  const at = (col: number): number | null => data[col]?.[idx] ?? null;
  return {
    step: xs[idx] as number,
    mean: at(COL.mean),
    min: at(COL.min),
    max: at(COL.max),
    marker: at(COL.marker),
    smooth: at(COL.smooth),
  };
}

/** Human text for a marker code, shown in the legend: "NaN", "+Inf", "3 values". */
export function describeMarker(code: number | null | undefined): string {
  if (code === null || code === undefined) return '—';
  if (code === MARKER_NAN) return 'NaN';
  if (code === MARKER_POS_INF) return '+Inf';
  if (code === MARKER_NEG_INF) return '−Inf';
  return code === 1 ? '1 value' : `${code} values`;
}

/**
 * Steps per bucket of a downsampled series: the spacing of bucket starts in the middle of
 * the series (the first and last buckets may be partial). 1 for raw series.
 */
export function bucketWidth(entry: Pick<SeriesEntry, 'raw' | 'step'>): number {
  const n = entry.step.length;
  if (entry.raw || n < 2) return 1;
  const mid = Math.max(0, Math.floor(n / 2) - 1);
  return (entry.step[mid + 1] as number) - (entry.step[mid] as number);
}
