// Pure uPlot options for the compare view: one line per run over the aligned data of
// align.ts (x, then one column per run), in the theme's palette.

import type uPlot from 'uplot';
import { tickLabels } from './options';
import { axisStyle, type ChartTheme, LIGHT } from './theme';

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
  const axis = axisStyle(theme, tickLabels);
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
