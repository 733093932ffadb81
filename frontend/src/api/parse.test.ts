import { describe, expect, it } from 'vitest';
import { decodeNumber, parseCompareResponse, parseMatrixResponse, parseSeriesResponse, PayloadError } from './parse';

describe('decodeNumber', () => {
  it('restores the wire spellings of non-finite values', () => {
    expect(decodeNumber('NaN')).toBeNaN();
    expect(decodeNumber('Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(decodeNumber('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
  });

  it('passes numbers through and keeps null as null, not 0', () => {
    expect(decodeNumber(1.5)).toBe(1.5);
    expect(decodeNumber(0)).toBe(0);
    expect(decodeNumber(null)).toBeNull();
  });

  it('rejects values outside the contract, naming where they were', () => {
    expect(() => decodeNumber('nan', 'loss last[3]')).toThrow(/loss last\[3\]/);
    expect(() => decodeNumber('1.5')).toThrow(PayloadError);
    expect(() => decodeNumber({})).toThrow(PayloadError);
  });
});

const wire = {
  run_id: 'r1',
  series: [
    {
      key: 'loss',
      raw: false,
      step: [0, 10, 20],
      min: [1.0, null, 0.5],
      max: [2.0, null, 'Infinity'],
      mean: [1.5, null, 0.7],
      last: [1.2, 'NaN', '-Infinity'],
      count: [10, 10, 10],
      nonfinite: [0, 10, 1],
    },
    { key: 'time/step_s', raw: true, step: [5], min: [0.1], max: [0.1], mean: [0.1], last: [0.1], count: [1], nonfinite: [0] },
  ],
};

describe('parseSeriesResponse', () => {
  it('decodes every numeric array, including non-finite strings and nulls', () => {
    const res = parseSeriesResponse(wire);
    expect(res.run_id).toBe('r1');
    expect(res.series).toHaveLength(2);
    const loss = res.series[0]!;
    expect(loss.key).toBe('loss');
    expect(loss.raw).toBe(false);
    expect(loss.step).toEqual([0, 10, 20]);
    expect(loss.min).toEqual([1.0, null, 0.5]);
    expect(loss.max[1]).toBeNull();
    expect(loss.max[2]).toBe(Number.POSITIVE_INFINITY);
    expect(loss.last[0]).toBe(1.2);
    expect(loss.last[1]).toBeNaN();
    expect(loss.last[2]).toBe(Number.NEGATIVE_INFINITY);
    expect(loss.nonfinite).toEqual([0, 10, 1]);
    expect(res.series[1]!.raw).toBe(true);
  });

  it('reads null counts as 0', () => {
    const res = parseSeriesResponse({
      run_id: 'r',
      series: [{ key: 'k', raw: true, step: [1], min: [null], max: [null], mean: [null], last: ['NaN'], count: [null], nonfinite: [null] }],
    });
    expect(res.series[0]!.count).toEqual([0]);
    expect(res.series[0]!.nonfinite).toEqual([0]);
  });

  it('rejects misaligned arrays', () => {
    const bad = structuredClone(wire);
    bad.series[0]!.mean = [1, 2];
    expect(() => parseSeriesResponse(bad)).toThrow(/"mean" has 2 buckets, "step" has 3/);
  });

  it('rejects a non-finite or missing step', () => {
    const bad = structuredClone(wire);
    bad.series[1]!.step = ['NaN' as unknown as number];
    expect(() => parseSeriesResponse(bad)).toThrow(/step\[0\]/);
    expect(() => parseSeriesResponse({ series: [{ key: 'x' }] })).toThrow(/"step" is not an array/);
  });

  it('rejects a body without a series array', () => {
    expect(() => parseSeriesResponse({ detail: 'nope' })).toThrow(PayloadError);
    expect(() => parseSeriesResponse(null)).toThrow(PayloadError);
  });

  it('accepts an empty series entry', () => {
    const res = parseSeriesResponse({
      run_id: 'r',
      series: [{ key: 'loss', raw: true, step: [], min: [], max: [], mean: [], last: [], count: [], nonfinite: [] }],
    });
    expect(res.series[0]!.step).toEqual([]);
  });
});

describe('parseMatrixResponse', () => {
  const body = {
    family: 'grad_norm/',
    layers: ['fc1.weight', 'fc2.weight'],
    step: [0, 64],
    values: [
      [0.5, 'Infinity'],
      [null, 'NaN'],
    ],
  };

  it('decodes rows like series values', () => {
    const m = parseMatrixResponse(body);
    expect(m.family).toBe('grad_norm/');
    expect(m.layers).toEqual(['fc1.weight', 'fc2.weight']);
    expect(m.values[0]).toEqual([0.5, Number.POSITIVE_INFINITY]);
    expect(m.values[1]![0]).toBeNull();
    expect(m.values[1]![1]).toBeNaN();
  });

  it('rejects a row per layer mismatch, naming the layer', () => {
    expect(() => parseMatrixResponse({ ...body, values: [[1, 2]] })).toThrow(/one row per layer/);
    expect(() => parseMatrixResponse({ ...body, values: [[1, 2], [1]] })).toThrow(/fc2\.weight/);
    expect(() => parseMatrixResponse({ ...body, layers: [1, 2] })).toThrow(/layers/);
    expect(() => parseMatrixResponse({ ...body, step: ['NaN', 1] })).toThrow(/step\[0\]/);
  });

  it('accepts an empty family', () => {
    expect(parseMatrixResponse({ family: 'x/', layers: [], step: [], values: [] }).layers).toEqual([]);
  });
});

describe('parseCompareResponse', () => {
  it('decodes each run’s series', () => {
    const res = parseCompareResponse({ runs: [{ run_id: 'a', series: [wire.series[0]] }, { run_id: 'b', series: [] }] });
    expect(res.runs.map((r) => r.run_id)).toEqual(['a', 'b']);
    expect(res.runs[0]!.series[0]!.last[1]).toBeNaN();
  });

  it('rejects a malformed body', () => {
    expect(() => parseCompareResponse({ runs: [{ series: [] }] })).toThrow(/run_id/);
    expect(() => parseCompareResponse({})).toThrow(PayloadError);
  });
});
