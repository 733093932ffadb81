import { describe, expect, it } from 'vitest';
import { layerRows, median, mostlyPositive, robustZ, sortRows } from './layerStats';

describe('robustZ', () => {
  it('scores a layer decades away as an outlier, in log space', () => {
    const z = robustZ([1, 1.2, 0.9, 1.1, 0.95, 100], true);
    expect(Math.abs(z[5]!)).toBeGreaterThan(3.5);
    expect(Math.abs(z[0]!)).toBeLessThan(1);
  });

  it('is not dragged by the outlier it finds (unlike mean/stddev)', () => {
    const z = robustZ([1, 2, 3, 4, 5, 1e6], false);
    expect(z[2]).toBeCloseTo(0.6745 * (3 - 3.5) / 1.5);
  });

  it('falls back to the mean absolute deviation when MAD is 0, and keeps nulls', () => {
    const z = robustZ([0, 0, 0, 0, 0.5, null], false);
    expect(z[4]).toBeGreaterThan(3.5);
    expect(z[5]).toBeNull();
    expect(robustZ([2, 2, 2], false)).toEqual([null, null, null]);
    expect(robustZ([null, Number.NaN], false)).toEqual([null, null]);
  });

  it('leaves non-positive values out of a log score', () => {
    expect(robustZ([0, 1, 10], true)[0]).toBeNull();
  });
});

describe('median', () => {
  it('handles odd, even and empty input', () => {
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('layerRows', () => {
  const matrix = {
    layers: ['a', 'b', 'c', 'd', 'e', 'f'],
    step: [0, 100, 200],
    values: [
      [1, 2, 1],
      [1, 1.5, null],
      [0.8, 1, 1.1],
      [1, 1, 0.9],
      [1, 1.2, 1.3],
      [1, 50, Number.NaN],
    ],
  };
  const rows = layerRows(matrix);

  it('reads the last non-empty cell as the latest value, with its step', () => {
    expect(rows[0]).toMatchObject({ index: 0, layer: 'a', latest: 1, latestStep: 200, min: 1, median: 1, max: 2 });
    expect(rows[1]).toMatchObject({ latest: 1.5, latestStep: 100 });
  });

  it('flags a non-finite latest value and counts non-finite buckets', () => {
    expect(rows[5]).toMatchObject({ nonfinite: 1, outlier: true, max: 50 });
    expect(Number.isNaN(rows[5]!.latest)).toBe(true);
    expect(rows.slice(0, 5).every((r) => !r.outlier)).toBe(true);
  });

  it('flags a finite outlier among the latest values', () => {
    const spiky = layerRows({ ...matrix, values: matrix.values.map((r, i) => (i === 2 ? [1, 1, 500] : r.map((v) => (Number.isNaN(v) ? 1 : v)))) });
    expect(spiky.filter((r) => r.outlier).map((r) => r.layer)).toEqual(['c']);
  });
});

describe('sortRows', () => {
  const rows = layerRows({
    layers: ['x', 'y', 'z', 'w'],
    step: [0],
    values: [[3], [null], [Number.NaN], [1]],
  });

  it('sorts numbers both ways with missing values last and NaN as most extreme', () => {
    expect(sortRows(rows, 'latest', 'desc').map((r) => r.layer)).toEqual(['z', 'x', 'w', 'y']);
    expect(sortRows(rows, 'latest', 'asc').map((r) => r.layer)).toEqual(['w', 'x', 'z', 'y']);
  });

  it('sorts names and keeps model order for ties', () => {
    expect(sortRows(rows, 'layer', 'asc').map((r) => r.layer)).toEqual(['w', 'x', 'y', 'z']);
    expect(sortRows(rows, 'nonfinite', 'asc').map((r) => r.layer)).toEqual(['x', 'y', 'w', 'z']);
  });
});

describe('mostlyPositive', () => {
  it('keeps log space despite a stray zero, and goes linear for families full of zeros', () => {
    const norms = Array.from({ length: 20 }, (_, i) => 10 ** (i / 5));
    expect(mostlyPositive([...norms, 0])).toBe(true);
    expect(mostlyPositive([0, 0, 0.5, 0.1])).toBe(false);
    expect(mostlyPositive([null, Number.NaN])).toBe(false);
  });

  it('does not flag a family spread evenly over decades because one layer is 0', () => {
    const values = Array.from({ length: 40 }, (_, i) => [10 ** (-3 + (2 * i) / 40)]);
    values[3] = [0];
    const rows = layerRows({ layers: values.map((_, i) => `l${i}`), step: [0], values });
    expect(rows.filter((r) => r.outlier)).toEqual([]);
  });
});
