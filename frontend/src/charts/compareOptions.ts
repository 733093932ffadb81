// Pure uPlot options for the compare view: one line per run over the aligned data of
// align.ts (x, then one column per run), in the theme's palette.

import type uPlot from 'uplot';
import { formatNumber } from '../format';
import { type ChartTheme, LIGHT } from './theme';

export interface CompareOptionsInput {
  width: number;
  height: number;
  /** One label per run, in column order. */
  labels: readonly string[];
  log?: boolean;
  theme?: ChartTheme;
  syncKey?: string;
  onCursor?: (idx: number | null) => void;
}

const AXIS_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** The colour of run `i`; the palette repeats past its length. */
export function runColour(theme: ChartTheme, i: number): string {
  return theme.palette[i % theme.palette.length] as string;
}

export function buildCompareOptions({
  width,
  height,
  labels,
  log = false,
  theme = LIGHT,
  syncKey,
  onCursor,
}: CompareOptionsInput): uPlot.Options {
  const axis = {
    stroke: theme.axis,
    font: AXIS_FONT,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1, size: 4 },
    values: (_u: uPlot, splits: number[]) => splits.map((v: number | null) => (v === null ? '' : formatNumber(v, 3))),
  };
  return {
    width,
    height,
    series: [
      { label: 'step' },
      // spanGaps: the nulls between a run's points come from aligning runs with different steps.
      ...labels.map((label, i) => ({ label, stroke: runColour(theme, i), width: 1.5, spanGaps: true, points: { show: false } })),
    ],
    scales: { x: { time: false }, y: log ? { distr: 3, log: 10 } : {} },
    axes: [
      { ...axis, scale: 'x', size: 28, space: 60 },
      { ...axis, scale: 'y', size: 56, space: 28 },
    ],
    cursor: {
      drag: { x: true, y: false, setScale: true },
      ...(syncKey ? { sync: { key: syncKey, setSeries: true } } : {}),
    },
    legend: { show: false },
    hooks: onCursor ? { setCursor: [(u) => onCursor(u.cursor.idx ?? null)] } : {},
  };
}
