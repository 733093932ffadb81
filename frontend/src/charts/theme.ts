// Chart colours for the light and dark schemes. Canvas drawing cannot read CSS variables
// cheaply on every frame, so charts receive one of these objects (hooks/useColorScheme.ts
// picks it from `prefers-color-scheme`).

import type uPlot from 'uplot';
import type { Severity } from '../api/types';

export interface ChartTheme {
  name: 'light' | 'dark';
  line: string;
  lineFaint: string;
  bandFill: string;
  bandEdge: string;
  marker: string;
  markerGuide: string;
  axis: string;
  grid: string;
  /** Diagnosis spans: a light wash over the steps and a solid strip at the bottom edge. */
  severity: Record<Severity, { wash: string; strip: string }>;
  /** Line colours for overlaid runs (compare view), distinguishable in both schemes. */
  palette: readonly string[];
}

export const LIGHT: ChartTheme = {
  name: 'light',
  line: '#2563eb',
  lineFaint: 'rgba(37, 99, 235, 0.35)',
  bandFill: 'rgba(37, 99, 235, 0.16)',
  bandEdge: 'rgba(37, 99, 235, 0.35)',
  marker: '#dc2626',
  markerGuide: 'rgba(220, 38, 38, 0.22)',
  axis: '#6b7280',
  grid: '#eceef2',
  severity: {
    critical: { wash: 'rgba(220, 38, 38, 0.08)', strip: '#dc2626' },
    warning: { wash: 'rgba(217, 119, 6, 0.08)', strip: '#d97706' },
    info: { wash: 'rgba(14, 116, 144, 0.06)', strip: '#0e7490' },
  },
  palette: ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#475569', '#ea580c'],
};

export const DARK: ChartTheme = {
  name: 'dark',
  line: '#60a5fa',
  lineFaint: 'rgba(96, 165, 250, 0.4)',
  bandFill: 'rgba(96, 165, 250, 0.2)',
  bandEdge: 'rgba(96, 165, 250, 0.4)',
  marker: '#f87171',
  markerGuide: 'rgba(248, 113, 113, 0.3)',
  axis: '#9ca3af',
  grid: '#262b33',
  severity: {
    critical: { wash: 'rgba(248, 113, 113, 0.12)', strip: '#f87171' },
    warning: { wash: 'rgba(251, 191, 36, 0.1)', strip: '#fbbf24' },
    info: { wash: 'rgba(34, 211, 238, 0.08)', strip: '#22d3ee' },
  },
  palette: ['#60a5fa', '#f87171', '#34d399', '#fbbf24', '#a78bfa', '#f472b6', '#22d3ee', '#a3e635', '#cbd5e1', '#fb923c'],
};

const AXIS_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Axis styling shared by every chart: colours from the theme, compact labels from `values`. */
export function axisStyle(theme: ChartTheme, values: (u: uPlot, splits: number[]) => string[]) {
  return {
    stroke: theme.axis,
    font: AXIS_FONT,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1, size: 4 },
    values,
  };
}
