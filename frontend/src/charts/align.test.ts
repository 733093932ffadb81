import { describe, expect, it } from 'vitest';
import type { SeriesEntry } from '../api/types';
import { alignRuns, lineValues, unionSteps } from './align';
import { buildCompareOptions, runColour } from './compareOptions';
import { prefersLog, sparkline } from './sparkline';
import { DARK, LIGHT } from './theme';

function raw(step: number[], last: (number | null)[]): SeriesEntry {
  return { key: 'loss', raw: true, step, min: last, max: last, mean: last, last, count: step.map(() => 1), nonfinite: step.map(() => 0) };
}

describe('unionSteps', () => {
  it('merges sorted steps without duplicates', () => {
    expect(unionSteps([[0, 2, 4], [1, 2, 3], []])).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('alignRuns', () => {
  it('puts each run at its own steps on a shared x, null elsewhere', () => {
    const a = raw([0, 2, 4], [1, 2, 3]);
    const b = raw([1, 2], [10, Number.NaN]);
    const { data, points } = alignRuns([a, b, undefined]);
    expect(Array.from(data[0]!)).toEqual([0, 1, 2, 4]);
    expect(data[1]).toEqual([1, null, 2, 3]);
    expect(data[2]).toEqual([null, 10, null, null]); // NaN is not drawable: a gap
    expect(data[3]).toEqual([null, null, null, null]);
    expect(points).toEqual([3, 1, 0]);
  });

  it('uses bucket means for downsampled series and honours log and smoothing', () => {
    const bucketed: SeriesEntry = { ...raw([0, 10], [5, 6]), raw: false, mean: [0, 2] };
    expect(lineValues(bucketed)).toEqual([0, 2]);
    expect(lineValues(bucketed, true)).toEqual([null, 2]);
    const smoothed = alignRuns([raw([0, 1], [1, 3])], { smooth: 0.5 });
    expect(smoothed.data[1]![1]).toBeCloseTo(2.3333333);
  });
});

describe('buildCompareOptions', () => {
  it('has one coloured, gap-spanning line per run', () => {
    const opts = buildCompareOptions({ width: 600, height: 200, labels: ['run-a', 'run-b'], theme: DARK });
    expect(opts.series.map((s) => s.label)).toEqual(['step', 'run-a', 'run-b']);
    expect(opts.series[2]!.stroke).toBe(DARK.palette[1]);
    expect(opts.series[1]!.spanGaps).toBe(true);
    expect(runColour(LIGHT, LIGHT.palette.length)).toBe(LIGHT.palette[0]);
  });
});

describe('sparkline', () => {
  it('scales points into the box, largest value at the top', () => {
    const pts = sparkline([0, 5, 10], [2, 1, 0], 12, 6, { pad: 1 });
    expect(pts).toEqual([
      { x: 1, y: 1 },
      { x: 6, y: 3 },
      { x: 11, y: 5 },
    ]);
  });

  it('skips non-finite values, draws a flat line mid-height and needs two points', () => {
    expect(sparkline([0, 1, 2], [1, Number.NaN, 1], 10, 10, { pad: 0 }).map((p) => p.y)).toEqual([5, 5]);
    expect(sparkline([0], [1], 10, 10)).toEqual([]);
  });

  it('draws log-space when a loss spans decades', () => {
    expect(prefersLog([100, 10, 0.5])).toBe(true);
    expect(prefersLog([3, 2, 1])).toBe(false);
    expect(prefersLog([1, 0, 100])).toBe(false);
    expect(prefersLog([100, 10, 0.5], 1000)).toBe(false);
    const pts = sparkline([0, 1, 2], [100, 10, 1], 10, 10, { log: true, pad: 0 });
    expect(pts.map((p) => p.y)).toEqual([0, 5, 10]);
  });
});
