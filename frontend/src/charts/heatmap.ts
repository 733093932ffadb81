// Heatmap of a per-layer family: data preparation and colour mapping. Pure (no DOM): the
// canvas component (components/Heatmap.tsx) puts the RGBA buffer made here on a canvas
// and scales it, so 200 layers × 2000 buckets is one drawImage, not 400k DOM nodes.
//
// Colour scale: log10. Gradient norms and update ratios span decades across layers, and a
// linear scale would paint everything but the largest layer the same colour. Cells that a
// log scale cannot place get their own colours: exact zero (a healthy dead fraction),
// negative, and NaN/±Inf (evidence, in the alarm colour). Empty buckets stay transparent.

import type { MatrixResponse } from '../api/types';

export interface ColourScale {
  /** log10 of the value at the bottom of the scale (lower values clamp to it). */
  lo: number;
  /** log10 of the value at the top (the largest value: a spike keeps the top colour). */
  hi: number;
}

/** Special cell classes, returned by colourIndex instead of a 0..255 index. */
export const CELL_EMPTY = -1;
export const CELL_ZERO = -2;
export const CELL_NONFINITE = -3;

/** The low end ignores the smallest 1 % of values, so one near-zero cell cannot flatten the rest. */
const LOW_QUANTILE = 0.01;
const SAMPLE = 20_000;

/**
 * Log colour domain over the positive finite cells: [1st percentile, max] in log10, from a
 * strided sample of at most 20k cells (sorting 400k values would cost ~30 ms per draw).
 * Null when no cell is positive and finite. A flat matrix gets a one-decade domain.
 */
export function colourScale(values: readonly (readonly (number | null)[])[]): ColourScale | null {
  let total = 0;
  for (const row of values) total += row.length;
  if (total === 0) return null;
  const stride = Math.max(1, Math.floor(total / SAMPLE));
  const sample: number[] = [];
  let hi = -Infinity;
  let k = 0;
  for (const row of values) {
    for (let j = 0; j < row.length; j++, k++) {
      const v = row[j];
      if (v === null || v === undefined || !(v > 0) || !Number.isFinite(v)) continue;
      if (v > hi) hi = v;
      if (k % stride === 0) sample.push(v);
    }
  }
  if (hi === -Infinity) return null;
  if (sample.length === 0) sample.push(hi);
  sample.sort((a, b) => a - b);
  const low = sample[Math.floor(LOW_QUANTILE * (sample.length - 1))] as number;
  const lo = Math.log10(Math.min(low, hi));
  const top = Math.log10(hi);
  return top - lo < 1e-9 ? { lo: lo - 0.5, hi: top + 0.5 } : { lo, hi: top };
}

/** 0..255 for a value on the scale, or one of the CELL_* classes. */
export function colourIndex(value: number | null | undefined, scale: ColourScale | null): number {
  if (value === null || value === undefined) return CELL_EMPTY;
  if (!Number.isFinite(value)) return CELL_NONFINITE;
  if (value <= 0 || scale === null) return CELL_ZERO;
  const t = (Math.log10(value) - scale.lo) / (scale.hi - scale.lo);
  return Math.max(0, Math.min(255, Math.round(t * 255)));
}

/** Viridis (perceptually uniform, colour-blind safe), 9 anchors interpolated to 256 entries. */
const VIRIDIS_ANCHORS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** 256 RGB triples from evenly spaced anchors, linearly interpolated. */
export function buildLut(anchors: readonly (readonly [number, number, number])[] = VIRIDIS_ANCHORS): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 3);
  const segments = anchors.length - 1;
  for (let i = 0; i < 256; i++) {
    const pos = (i / 255) * segments;
    const a = Math.min(segments - 1, Math.floor(pos));
    const t = pos - a;
    const from = anchors[a] as readonly number[];
    const to = anchors[a + 1] as readonly number[];
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round((from[c] as number) + t * ((to[c] as number) - (from[c] as number)));
  }
  return lut;
}

export const VIRIDIS = buildLut();

export interface SpecialColours {
  zero: readonly [number, number, number];
  nonfinite: readonly [number, number, number];
}

export const SPECIAL_LIGHT: SpecialColours = { zero: [226, 228, 233], nonfinite: [255, 0, 128] };
export const SPECIAL_DARK: SpecialColours = { zero: [40, 44, 52], nonfinite: [255, 64, 160] };

/**
 * The matrix as an RGBA image, one pixel per cell: width = buckets, height = layers,
 * row i = layer i (model order, top to bottom). Empty cells are fully transparent.
 */
export function renderCells(
  matrix: Pick<MatrixResponse, 'values' | 'step'>,
  scale: ColourScale | null,
  lut: Uint8ClampedArray = VIRIDIS,
  special: SpecialColours = SPECIAL_LIGHT,
): Uint8ClampedArray<ArrayBuffer> {
  const width = matrix.step.length;
  const height = matrix.values.length;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < height; i++) {
    const row = matrix.values[i] as readonly (number | null)[];
    for (let j = 0; j < width; j++) {
      const index = colourIndex(row[j], scale);
      const o = (i * width + j) * 4;
      if (index === CELL_EMPTY) continue; // alpha stays 0
      const rgb = index === CELL_ZERO ? special.zero : index === CELL_NONFINITE ? special.nonfinite : null;
      if (rgb) {
        out[o] = rgb[0];
        out[o + 1] = rgb[1];
        out[o + 2] = rgb[2];
      } else {
        out[o] = lut[index * 3] as number;
        out[o + 1] = lut[index * 3 + 1] as number;
        out[o + 2] = lut[index * 3 + 2] as number;
      }
      out[o + 3] = 255;
    }
  }
  return out;
}

export interface Cell {
  layer: number;
  bucket: number;
}

/** The cell under a point of a (width × height) CSS-pixel area showing layers × buckets. */
export function cellAt(x: number, y: number, width: number, height: number, layers: number, buckets: number): Cell | null {
  if (layers === 0 || buckets === 0 || x < 0 || y < 0 || x >= width || y >= height) return null;
  return {
    layer: Math.min(layers - 1, Math.floor((y / height) * layers)),
    bucket: Math.min(buckets - 1, Math.floor((x / width) * buckets)),
  };
}

/** Steps a bucket covers: [its first step, the next bucket's first step); the last one ends at `end`. */
export function bucketSpan(steps: readonly number[], bucket: number, end: number | null): [number, number] {
  const from = steps[bucket] as number;
  const next = steps[bucket + 1];
  return [from, next !== undefined ? next : Math.max(from + 1, end ?? from + 1)];
}

/** Decade ticks inside the scale (1e-4, 1e-3, …), at most `max` of them, for the colour legend. */
export function decadeTicks(scale: ColourScale, max = 6): number[] {
  const first = Math.ceil(scale.lo);
  const last = Math.floor(scale.hi);
  const count = last - first + 1;
  if (count <= 0) return [];
  const every = Math.max(1, Math.ceil(count / max));
  const out: number[] = [];
  for (let e = first; e <= last; e += every) out.push(e);
  return out;
}

/** Row height in CSS pixels: 200 layers fit a 600 px panel; few layers get readable rows. */
export function rowHeight(layers: number, target = 600, min = 2, max = 16): number {
  if (layers <= 0) return max;
  return Math.max(min, Math.min(max, Math.floor(target / layers)));
}
