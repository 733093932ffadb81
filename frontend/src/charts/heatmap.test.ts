import { describe, expect, it } from 'vitest';
import {
  bucketSpan,
  buildLut,
  cellAt,
  CELL_EMPTY,
  CELL_NONFINITE,
  CELL_ZERO,
  colourIndex,
  colourScale,
  decadeTicks,
  renderCells,
  rowHeight,
  SPECIAL_LIGHT,
  VIRIDIS,
} from './heatmap';

describe('colourScale', () => {
  it('spans the positive finite values in log10, ignoring zero, negatives, NaN and empties', () => {
    const scale = colourScale([
      [1e-4, 0, null],
      [1e-1, Number.NaN, -3],
      [1e2, Number.POSITIVE_INFINITY, 1],
    ])!;
    expect(scale.lo).toBeCloseTo(-4);
    expect(scale.hi).toBeCloseTo(2);
  });

  it('lets a single tiny outlier clamp instead of flattening the scale', () => {
    const row = Array.from({ length: 1000 }, (_, i) => 1 + i / 1000);
    row[0] = 1e-30;
    const scale = colourScale([row])!;
    expect(scale.lo).toBeGreaterThan(-1); // p1, not the outlier
    expect(colourIndex(1e-30, scale)).toBe(0);
  });

  it('widens a flat matrix to one decade and is null without positive values', () => {
    expect(colourScale([[5, 5]])).toEqual({ lo: Math.log10(5) - 0.5, hi: Math.log10(5) + 0.5 });
    expect(colourScale([[0, null, Number.NaN]])).toBeNull();
    expect(colourScale([])).toBeNull();
  });
});

describe('colourIndex', () => {
  const scale = { lo: -3, hi: 1 };

  it('maps decades linearly to 0..255 and clamps', () => {
    expect(colourIndex(1e-3, scale)).toBe(0);
    expect(colourIndex(10, scale)).toBe(255);
    expect(colourIndex(0.1, scale)).toBe(128); // (−1 + 3) / 4 · 255 = 127.5
    expect(colourIndex(1e-9, scale)).toBe(0);
    expect(colourIndex(1e9, scale)).toBe(255);
  });

  it('classifies what a log scale cannot place', () => {
    expect(colourIndex(null, scale)).toBe(CELL_EMPTY);
    expect(colourIndex(0, scale)).toBe(CELL_ZERO);
    expect(colourIndex(-1, scale)).toBe(CELL_ZERO);
    expect(colourIndex(Number.NaN, scale)).toBe(CELL_NONFINITE);
    expect(colourIndex(Number.NEGATIVE_INFINITY, scale)).toBe(CELL_NONFINITE);
    expect(colourIndex(1, null)).toBe(CELL_ZERO);
  });
});

describe('buildLut', () => {
  it('hits the anchors at both ends and interpolates between them', () => {
    const lut = buildLut([
      [0, 0, 0],
      [255, 100, 50],
    ]);
    expect(Array.from(lut.slice(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(lut.slice(255 * 3))).toEqual([255, 100, 50]);
    expect(lut[128 * 3]).toBe(128);
    expect(VIRIDIS.length).toBe(768);
  });
});

describe('renderCells', () => {
  it('writes one RGBA pixel per cell, layer rows top to bottom', () => {
    const scale = { lo: 0, hi: 1 };
    const rgba = renderCells(
      { step: [0, 10], values: [[1, 10], [null, Number.NaN], [0, 1]] },
      scale,
      VIRIDIS,
      SPECIAL_LIGHT,
    );
    expect(rgba.length).toBe(2 * 3 * 4);
    const px = (layer: number, bucket: number) => Array.from(rgba.slice((layer * 2 + bucket) * 4, (layer * 2 + bucket) * 4 + 4));
    expect(px(0, 0)).toEqual([...VIRIDIS.slice(0, 3), 255]);
    expect(px(0, 1)).toEqual([...VIRIDIS.slice(255 * 3), 255]);
    expect(px(1, 0)).toEqual([0, 0, 0, 0]); // empty bucket: transparent
    expect(px(1, 1)).toEqual([...SPECIAL_LIGHT.nonfinite, 255]);
    expect(px(2, 0)).toEqual([...SPECIAL_LIGHT.zero, 255]);
  });
});

describe('geometry', () => {
  it('finds the cell under the pointer', () => {
    expect(cellAt(0, 0, 100, 50, 5, 10)).toEqual({ layer: 0, bucket: 0 });
    expect(cellAt(99.9, 49.9, 100, 50, 5, 10)).toEqual({ layer: 4, bucket: 9 });
    expect(cellAt(55, 25, 100, 50, 5, 10)).toEqual({ layer: 2, bucket: 5 });
    expect(cellAt(100, 0, 100, 50, 5, 10)).toBeNull();
    expect(cellAt(-1, 0, 100, 50, 5, 10)).toBeNull();
    expect(cellAt(1, 1, 100, 50, 0, 10)).toBeNull();
  });

  it('gives the steps of a bucket, the last one up to the end', () => {
    expect(bucketSpan([0, 64, 128], 0, 150)).toEqual([0, 64]);
    expect(bucketSpan([0, 64, 128], 2, 150)).toEqual([128, 150]);
    expect(bucketSpan([0, 64, 128], 2, null)).toEqual([128, 129]);
  });

  it('picks decade ticks inside the scale, thinned to a maximum', () => {
    expect(decadeTicks({ lo: -3.2, hi: 0.5 })).toEqual([-3, -2, -1, 0]);
    expect(decadeTicks({ lo: -12, hi: 0 }, 4)).toEqual([-12, -8, -4, 0]);
    expect(decadeTicks({ lo: 0.1, hi: 0.9 })).toEqual([]);
  });

  it('sizes rows so 200 layers fit and a few layers stay readable', () => {
    expect(rowHeight(200)).toBe(3);
    expect(rowHeight(5)).toBe(16);
    expect(rowHeight(2000)).toBe(2);
  });
});
