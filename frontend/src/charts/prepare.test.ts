import { describe, expect, it } from 'vitest';
import type { SeriesEntry } from '../api/types';
import {
  bucketWidth,
  COL,
  ema,
  countMarkers,
  countPoints,
  describeMarker,
  MARKER_NAN,
  MARKER_NEG_INF,
  MARKER_POS_INF,
  prepareSeries,
  readoutAt,
  toColumn,
} from './prepare';

function entry(partial: Partial<SeriesEntry> & Pick<SeriesEntry, 'step'>): SeriesEntry {
  const n = partial.step.length;
  const fill = <T,>(v: T) => new Array<T>(n).fill(v);
  return {
    key: 'loss',
    raw: false,
    min: fill<number | null>(null),
    max: fill<number | null>(null),
    mean: fill<number | null>(null),
    last: fill<number | null>(null),
    count: fill(1),
    nonfinite: fill(0),
    ...partial,
  };
}

const col = (data: ReturnType<typeof prepareSeries>['data'], i: number) => Array.from(data[i]!);

describe('prepareSeries, bucketed', () => {
  const bucketed = entry({
    step: [0, 100, 200, 300],
    min: [1, 0.5, null, 0.2],
    max: [3, 50, null, 0.4],
    mean: [2, 1, null, 0.3],
    last: [2.5, 0.9, Number.NaN, 0.25],
    nonfinite: [0, 0, 7, 2],
  });
  const p = prepareSeries(bucketed);

  it('aligns x, band edges, line and markers by bucket', () => {
    expect(p.data).toHaveLength(6);
    expect(p.data[COL.x]).toBeInstanceOf(Float64Array);
    expect(col(p.data, COL.x)).toEqual([0, 100, 200, 300]);
    expect(col(p.data, COL.max)).toEqual([3, 50, null, 0.4]);
    expect(col(p.data, COL.min)).toEqual([1, 0.5, null, 0.2]);
    expect(col(p.data, COL.mean)).toEqual([2, 1, null, 0.3]);
  });

  it('keeps the spike in the band maximum even though the mean dilutes it', () => {
    expect(p.data[COL.max]![1]).toBe(50);
    expect(p.data[COL.mean]![1]).toBe(1);
  });

  it('never turns a gap into 0: a column with gaps is not a typed array', () => {
    expect(p.data[COL.mean]).not.toBeInstanceOf(Float64Array);
    expect(p.data[COL.mean]![2]).toBeNull();
  });

  it('marks buckets with non-finite values by their count', () => {
    expect(col(p.data, COL.marker)).toEqual([null, null, 7, 2]);
    expect(p.markers).toBe(2);
    expect(countMarkers(p.data)).toBe(2);
  });

  it('counts drawable points and reports the last logged value', () => {
    expect(p.points).toBe(3);
    expect(countPoints(p.data)).toBe(3);
    expect(p.latest).toBe(0.25);
  });
});

describe('prepareSeries, raw', () => {
  const raw = entry({
    raw: true,
    step: [1, 2, 3, 4, 5],
    min: [0.5, null, null, null, 0.1],
    max: [0.5, null, null, null, 0.1],
    mean: [0.5, null, null, null, 0.1],
    last: [0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1],
    nonfinite: [0, 1, 1, 1, 0],
  });
  const p = prepareSeries(raw);

  it('draws the value itself, with a zero-width band', () => {
    expect(col(p.data, COL.mean)).toEqual([0.5, null, null, null, 0.1]);
    expect(col(p.data, COL.max)).toEqual(col(p.data, COL.mean));
    expect(col(p.data, COL.min)).toEqual(col(p.data, COL.mean));
  });

  it('encodes which non-finite value each raw point was', () => {
    expect(col(p.data, COL.marker)).toEqual([null, MARKER_NAN, MARKER_POS_INF, MARKER_NEG_INF, null]);
    expect(p.points).toBe(2);
    expect(p.markers).toBe(3);
  });

  it('marks a raw NaN even if the server reported no non-finite count', () => {
    const q = prepareSeries(entry({ raw: true, step: [0], last: [Number.NaN] }));
    expect(col(q.data, COL.marker)).toEqual([MARKER_NAN]);
    expect(q.latest).toBeNaN();
  });

  it('falls back to the mean when a raw point has no last value', () => {
    const q = prepareSeries(entry({ raw: true, step: [0], mean: [4], last: [null] }));
    expect(col(q.data, COL.mean)).toEqual([4]);
  });

  it('uses typed arrays for gap-free columns', () => {
    const q = prepareSeries(entry({ raw: true, step: [0, 1], last: [1, 2], mean: [1, 2] }));
    expect(q.data[COL.mean]).toBeInstanceOf(Float64Array);
    expect(col(q.data, COL.mean)).toEqual([1, 2]);
  });
});

describe('prepareSeries, log axis and empty input', () => {
  it('turns values ≤ 0 into gaps on a log axis', () => {
    const e = entry({ step: [0, 1, 2], min: [-1, 0, 1], max: [1, 2, 3], mean: [0.5, 0, 2] });
    const p = prepareSeries(e, { log: true });
    expect(col(p.data, COL.min)).toEqual([null, null, 1]);
    expect(col(p.data, COL.mean)).toEqual([0.5, null, 2]);
    expect(p.points).toBe(2);
    expect(col(prepareSeries(e).data, COL.mean)).toEqual([0.5, 0, 2]); // linear keeps 0
  });

  it('gives six empty columns for a missing or empty series', () => {
    for (const p of [prepareSeries(undefined), prepareSeries(entry({ step: [] }))]) {
      expect(p.data).toHaveLength(6);
      expect(p.data.every((c) => c.length === 0)).toBe(true);
      expect(p.points).toBe(0);
      expect(p.latest).toBeNull();
    }
  });
});

describe('helpers', () => {
  it('toColumn keeps nulls and typed-arrays dense columns', () => {
    expect(toColumn([1, null])).toEqual([1, null]);
    expect(toColumn([1, 2])).toBeInstanceOf(Float64Array);
  });

  it('describeMarker names raw values and counts bucket values', () => {
    expect(describeMarker(MARKER_NAN)).toBe('NaN');
    expect(describeMarker(MARKER_POS_INF)).toBe('+Inf');
    expect(describeMarker(MARKER_NEG_INF)).toBe('−Inf');
    expect(describeMarker(1)).toBe('1 value');
    expect(describeMarker(12)).toBe('12 values');
    expect(describeMarker(null)).toBe('—');
  });
});

describe('readoutAt', () => {
  const p = prepareSeries(
    entry({ step: [0, 10], min: [1, null], max: [5, null], mean: [2, null], last: [2, Number.NaN], nonfinite: [0, 4] }),
  );

  it('reads the bucket under the cursor', () => {
    expect(readoutAt(p.data, 0)).toEqual({ step: 0, mean: 2, min: 1, max: 5, marker: null, smooth: null });
    expect(readoutAt(p.data, 1)).toEqual({ step: 10, mean: null, min: null, max: null, marker: 4, smooth: null });
  });

  it('is null without a cursor or outside the data', () => {
    expect(readoutAt(p.data, null)).toBeNull();
    expect(readoutAt(p.data, 2)).toBeNull();
    expect(readoutAt(prepareSeries(undefined).data, 0)).toBeNull();
  });
});

describe('ema (smoothing)', () => {
  it('is debiased: a constant series stays constant from the first point', () => {
    expect(ema([2, 2, 2], 0.9).map((v) => Number(v?.toFixed(12)))).toEqual([2, 2, 2]);
  });

  it('lags a step change and keeps gaps as gaps without resetting', () => {
    const s = ema([0, 0, null, 10, 10], 0.5);
    expect(s[0]).toBe(0);
    expect(s[2]).toBeNull();
    // after 3 points: acc = 0.5·(0.5·0 + 0.5·0)… + 0.5·10 = 5, debiased by 1 − 0.5³
    expect(s[3]).toBeCloseTo(5 / (1 - 0.125));
    expect(s[4]! > s[3]!).toBe(true);
    expect(s[4]! < 10).toBe(true);
  });

  it('skips non-finite values and is all null when off', () => {
    expect(ema([1, Number.NaN, 1], 0.5)[1]).toBeNull();
    expect(ema([1, 2], 0)).toEqual([null, null]);
  });

  it('fills the smooth column of prepared data', () => {
    const p = prepareSeries(entry({ raw: true, step: [0, 1], last: [1, 3], mean: [1, 3] }), { smooth: 0.5 });
    expect(col(p.data, COL.smooth)[0]).toBe(1);
    expect(col(p.data, COL.smooth)[1]).toBeCloseTo(2.3333333);
    expect(col(prepareSeries(entry({ raw: true, step: [0], last: [1] })).data, COL.smooth)).toEqual([null]);
  });
});

describe('bucketWidth', () => {
  it('reads the spacing of bucket starts, ignoring a partial first bucket', () => {
    expect(bucketWidth({ raw: false, step: [3, 64, 128, 192] })).toBe(64);
    expect(bucketWidth({ raw: true, step: [0, 1, 2] })).toBe(1);
    expect(bucketWidth({ raw: false, step: [5] })).toBe(1);
  });
});
