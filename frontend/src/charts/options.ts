// Pure uPlot options builder for one metric chart. No React, no fetch, no DOM access
// until uPlot calls the returned callbacks. Relies on the column layout of prepare.ts.

import type uPlot from 'uplot';
import { formatNumber } from '../format';
import type { Mark } from './marks';
import { COL } from './prepare';
import { axisStyle, type ChartTheme, LIGHT } from './theme';

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
  /** Draw the smooth column as the line and the raw line faintly behind it. */
  smooth?: boolean;
  theme?: ChartTheme;
  /** Charts with the same key share one cursor (uPlot sync, by step value). */
  syncKey?: string;
  /** A drag selection over [min, max] steps; the page turns it into a re-queried range. */
  onZoom?: (min: number, max: number) => void;
  /** Double-click: back to the whole run. */
  onZoomReset?: () => void;
  /** Diagnosis spans to draw; read at draw time, so a change needs a redraw, not new options. */
  getMarks?: () => readonly Mark[];
}

/** Cursor events shared with synced charts: hover only. A drag zooms through page state. */
const SYNCED_EVENTS: ReadonlySet<string> = new Set(['mousemove', 'mouseleave']);

/** Tick labels; log axes thin out crowded ticks by passing null splits, which stay blank. */
export function tickLabels(_u: uPlot, splits: number[]): string[] {
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
export function drawMarkers(u: uPlot, theme: ChartTheme = LIGHT): void {
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
    ctx.fillStyle = theme.markerGuide;
    ctx.fillRect(x - ratio / 2, top, ratio, height);
    ctx.fillStyle = theme.marker;
    ctx.beginPath();
    ctx.moveTo(x - half, top);
    ctx.lineTo(x + half, top);
    ctx.lineTo(x, top + 1.75 * half);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

/** Height of the severity strip under a diagnosis span, in CSS pixels. */
const STRIP_PX = 3;

/**
 * Draws diagnosis spans: a wash over [from, to] (at least 2 px wide, so a one-step event
 * stays visible when zoomed out) and a severity strip on the bottom edge. Runs on uPlot's
 * `drawClear` hook, so the wash lies under the lines.
 */
export function drawMarks(u: uPlot, marks: readonly Mark[], theme: ChartTheme = LIGHT): void {
  if (marks.length === 0) return;
  const { left, top, width, height } = u.bbox;
  const ratio = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
  const ctx = u.ctx;
  ctx.save();
  for (const mark of marks) {
    const x0 = Math.max(left, u.valToPos(mark.from, 'x', true));
    const x1 = Math.min(left + width, u.valToPos(mark.to, 'x', true));
    if (x1 < left || x0 > left + width) continue;
    const w = Math.max(2 * ratio, x1 - x0);
    const colours = theme.severity[mark.severity];
    ctx.fillStyle = colours.wash;
    ctx.fillRect(x0, top, w, height);
    ctx.fillStyle = colours.strip;
    ctx.fillRect(x0, top + height - STRIP_PX * ratio, w, STRIP_PX * ratio);
  }
  ctx.restore();
}

/**
 * Zoom: uPlot's drag selection is read in the `setSelect` hook, cleared, and handed to
 * `onZoom`; the page then sets every chart's x range and re-queries the server for that
 * range at full resolution. (uPlot's own drag-to-zoom would only magnify the buckets
 * already loaded.)
 */
function selectHook(onZoom: (min: number, max: number) => void) {
  return (u: uPlot) => {
    const { left, width } = u.select;
    if (width < 2) return;
    const min = u.posToVal(left, 'x');
    const max = u.posToVal(left + width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    onZoom(min, max);
  };
}

export function buildChartOptions({
  width,
  height,
  log = false,
  onCursor,
  smooth = false,
  theme = LIGHT,
  syncKey,
  onZoom,
  onZoomReset,
  getMarks,
}: ChartOptionsInput): uPlot.Options {
  const axisCommon = axisStyle(theme, tickLabels);

  // Series order is the column order of prepare.ts: x, max, min, mean, marker, smooth.
  // The line comes after the band edges so it is drawn on top of the band fill.
  const series: uPlot.Series[] = [
    { label: 'step' },
    { label: 'max', stroke: theme.bandEdge, width: 1, points: { show: false } },
    { label: 'min', stroke: theme.bandEdge, width: 1, points: { show: false } },
    { label: 'mean', stroke: smooth ? theme.lineFaint : theme.line, width: smooth ? 1 : 1.5 },
    {
      label: 'NaN/Inf',
      class: MARKER_CLASS,
      scale: MARKER_SCALE,
      auto: false,
      stroke: theme.marker,
      width: 0,
      paths: () => null, // drawn by drawMarkers at the top edge, not at a y value
      points: { show: false },
    },
    { label: 'smoothed', show: smooth, stroke: theme.line, width: 1.75, points: { show: false } },
  ];

  const hooks: uPlot.Hooks.Arrays = { draw: [(u) => drawMarkers(u, theme)] };
  if (getMarks) hooks.drawClear = [(u) => drawMarks(u, getMarks(), theme)];
  if (onCursor) hooks.setCursor = [(u) => onCursor(u.cursor.idx ?? null)];
  if (onZoom) hooks.setSelect = [selectHook(onZoom)];
  if (onZoomReset) hooks.ready = [(u) => u.over.addEventListener('dblclick', () => onZoomReset())];

  return {
    width,
    height,
    series,
    bands: [{ series: [COL.max, COL.min], fill: theme.bandFill }],
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
      // Drag selects steps to zoom into (selectHook); double-click resets (onZoomReset).
      drag: { x: true, y: false, setScale: !onZoom },
      ...(syncKey
        ? { sync: { key: syncKey, setSeries: false, filters: { pub: (type: string) => SYNCED_EVENTS.has(type) } } }
        : {}),
    },
    legend: { show: false },
    hooks,
  };
}
