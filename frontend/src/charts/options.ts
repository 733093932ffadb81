// Pure uPlot options builder for one metric chart. No React, no fetch, no DOM access
// until uPlot calls the returned callbacks. Relies on the column layout of prepare.ts.

import type uPlot from 'uplot';
import { formatNumber } from '../format';
import { COL } from './prepare';

export const COLORS = {
  line: '#2563eb',
  bandFill: 'rgba(37, 99, 235, 0.16)',
  bandEdge: 'rgba(37, 99, 235, 0.35)',
  marker: '#dc2626',
  markerGuide: 'rgba(220, 38, 38, 0.22)',
  axis: '#6b7280',
  grid: '#eceef2',
} as const;

/** Class of the marker series' cursor point (the CSS hides it: markers sit on the top edge). */
export const MARKER_CLASS = 'gs-nonfinite';
/** Marker codes live on their own fixed scale so they never stretch the y axis. */
export const MARKER_SCALE = 'nonfinite';

export interface ChartOptionsInput {
  width: number;
  height: number;
  /** Logarithmic y axis (prepare.ts must then be called with `log: true` too). */
  log?: boolean;
  /**
   * Called with the data index under the cursor (null when it leaves). The panel shows
   * the values in its readout line instead of uPlot's legend, which would cost two
   * lines of every panel to print five dashes when the pointer is elsewhere.
   */
  onCursor?: (idx: number | null) => void;
}

const AXIS_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Tick labels; log axes thin out crowded ticks by passing null splits, which stay blank. */
function tickLabels(_u: uPlot, splits: number[]): string[] {
  return splits.map((v: number | null) => (v === null ? '' : formatNumber(v, 3)));
}

/** Y axis width from its longest label, so "1.23e-5" is not clipped and "0" wastes no room. */
function yAxisSize(_u: uPlot, values: string[] | null): number {
  const longest = values ? Math.max(0, ...values.map((v) => v.length)) : 4;
  return Math.ceil(longest * 6.5) + 14;
}

/**
 * Draws each non-finite bucket as a red triangle on the plot's top edge plus a faint
 * vertical guide, whatever the y range or zoom. Runs on uPlot's `draw` hook, in
 * canvas pixels (uPlot's bbox and valToPos(…, true) are both in canvas pixels).
 */
export function drawMarkers(u: uPlot): void {
  const series = u.series[COL.marker];
  const xs = u.data[COL.x];
  const codes = u.data[COL.marker];
  if (!series || series.show === false || !codes || !xs) return;
  const { left, top, width, height } = u.bbox;
  const ratio = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
  const half = 4 * ratio;
  const ctx = u.ctx;
  ctx.save();
  for (let i = 0; i < codes.length; i++) {
    const x0 = xs[i];
    if (codes[i] === null || codes[i] === undefined || x0 === null || x0 === undefined) continue;
    const x = Math.round(u.valToPos(x0, 'x', true));
    if (x < left || x > left + width) continue; // zoomed out of view
    ctx.fillStyle = COLORS.markerGuide;
    ctx.fillRect(x - ratio / 2, top, ratio, height);
    ctx.fillStyle = COLORS.marker;
    ctx.beginPath();
    ctx.moveTo(x - half, top);
    ctx.lineTo(x + half, top);
    ctx.lineTo(x, top + 1.75 * half);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

export function buildChartOptions({ width, height, log = false, onCursor }: ChartOptionsInput): uPlot.Options {
  const axisCommon = {
    stroke: COLORS.axis,
    font: AXIS_FONT,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1, size: 4 },
    values: tickLabels,
  };

  // Series order is the column order of prepare.ts: x, max, min, mean, marker.
  // The line comes after the band edges so it is drawn on top of the band fill.
  const series: uPlot.Series[] = [
    { label: 'step' },
    { label: 'max', stroke: COLORS.bandEdge, width: 1, points: { show: false } },
    { label: 'min', stroke: COLORS.bandEdge, width: 1, points: { show: false } },
    { label: 'mean', stroke: COLORS.line, width: 1.5 },
    {
      label: 'NaN/Inf',
      class: MARKER_CLASS,
      scale: MARKER_SCALE,
      auto: false,
      stroke: COLORS.marker,
      width: 0,
      paths: () => null, // drawn by drawMarkers at the top edge, not at a y value
      points: { show: false },
    },
  ];

  const hooks: uPlot.Hooks.Arrays = { draw: [drawMarkers] };
  if (onCursor) hooks.setCursor = [(u) => onCursor(u.cursor.idx ?? null)];

  return {
    width,
    height,
    series,
    bands: [{ series: [COL.max, COL.min], fill: COLORS.bandFill }],
    scales: {
      x: { time: false },
      y: log ? { distr: 3, log: 10 } : {},
      [MARKER_SCALE]: { auto: false, range: [0, 1] },
    },
    axes: [
      { ...axisCommon, scale: 'x', size: 28, space: 60 },
      { ...axisCommon, scale: 'y', size: yAxisSize, space: 28 },
    ],
    cursor: {
      drag: { x: true, y: false, setScale: true }, // drag to zoom steps, double-click resets
    },
    legend: { show: false },
    hooks,
  };
}
