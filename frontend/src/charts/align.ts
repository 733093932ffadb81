// Overlaying one key across runs: uPlot wants one shared x column, while each run has its
// own steps (different lengths, cadences and bucket boundaries). Pure.
//
// The shared x is the sorted union of all runs' steps; each run's column holds its line
// value at its own steps and null elsewhere. The compare options draw these series with
// `spanGaps`, because those nulls are alignment artefacts, not missing data.

import type uPlot from 'uplot';
import type { SeriesEntry } from '../api/types';
import { ema } from './prepare';

export interface AlignedRuns {
  data: uPlot.AlignedData;
  /** Drawable points per run (same order as the input). */
  points: number[];
}

export interface AlignOptions {
  log?: boolean;
  smooth?: number;
}

/** A bucket's line value: the mean, or the value itself for raw series; non-drawable → null. */
export function lineValues(entry: SeriesEntry, log = false): (number | null)[] {
  return entry.step.map((_, i) => {
    const v = entry.raw ? (entry.last[i] ?? entry.mean[i]) : entry.mean[i];
    if (v === null || v === undefined || !Number.isFinite(v)) return null;
    return log && v <= 0 ? null : v;
  });
}

/** Sorted union of several sorted step arrays (k-way merge, duplicates collapsed). */
export function unionSteps(steps: readonly (readonly number[])[]): number[] {
  const all: number[] = [];
  for (const s of steps) for (const v of s) all.push(v);
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const v of all) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

export function alignRuns(entries: readonly (SeriesEntry | undefined)[], options: AlignOptions = {}): AlignedRuns {
  const present = entries.map((e) => e ?? null);
  const xs = unionSteps(present.map((e) => e?.step ?? []));
  const position = new Map<number, number>();
  xs.forEach((x, i) => position.set(x, i));
  const points: number[] = [];
  const columns = present.map((entry) => {
    const column: (number | null)[] = new Array(xs.length).fill(null);
    if (!entry) {
      points.push(0);
      return column;
    }
    let values = lineValues(entry, options.log);
    if (options.smooth) values = ema(values, options.smooth);
    let drawn = 0;
    entry.step.forEach((step, i) => {
      const v = values[i] ?? null;
      column[position.get(step) as number] = v;
      if (v !== null) drawn++;
    });
    points.push(drawn);
    return column;
  });
  return { data: [Float64Array.from(xs), ...columns], points };
}
