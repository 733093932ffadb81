// The run page's view state lives in the URL (search params), so a link reproduces what
// its author saw: the tab, the charted keys, the zoom, smoothing, log axes and the layer
// family. Pure parse/serialise; the hook in hooks/useRunView.ts binds it to the router.
//
//   /runs/abc?tab=charts&keys=loss,lr&from=1200&to=3400&smooth=0.8&log=loss
//   /runs/abc?tab=layers&family=update_ratio/

import type { StepRange } from './api/types';

export const TABS = ['charts', 'layers', 'diagnoses', 'advisor'] as const;
export type Tab = (typeof TABS)[number];

export interface RunView {
  tab: Tab;
  /** Charted keys in order; null = the default set (every scalar key). */
  keys: string[] | null;
  /** Zoomed step range [start, end); null = the whole run. */
  range: StepRange | null;
  /** EMA weight in [0, 0.99]; 0 = off. */
  smooth: number;
  /** Keys drawn on a log y axis. */
  log: string[];
  /** Heatmap family (a per-layer prefix such as `grad_norm/`); null = the first available. */
  family: string | null;
}

export const DEFAULT_VIEW: RunView = { tab: 'charts', keys: null, range: null, smooth: 0, log: [], family: null };

export const MAX_SMOOTH = 0.99;

/** Comma-separated lists: metric keys never contain commas (the series API splits on them). */
function list(value: string | null): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((k) => k.trim()).filter((k) => k !== ''))];
}

function integer(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** A range from `from`/`to`; a half-given or inverted range is ignored (whole run). */
export function parseRange(from: string | null, to: string | null): StepRange | null {
  const start = integer(from);
  const end = integer(to);
  return start !== null && end !== null && end > start ? { start, end } : null;
}

export function parseView(params: URLSearchParams): RunView {
  const tab = params.get('tab');
  const smooth = Number(params.get('smooth'));
  const keys = list(params.get('keys'));
  const family = params.get('family');
  return {
    tab: (TABS as readonly string[]).includes(tab ?? '') ? (tab as Tab) : DEFAULT_VIEW.tab,
    keys: keys.length > 0 ? keys : null,
    range: parseRange(params.get('from'), params.get('to')),
    smooth: Number.isFinite(smooth) ? Math.min(MAX_SMOOTH, Math.max(0, smooth)) : 0,
    log: list(params.get('log')),
    family: family ? family : null,
  };
}

/**
 * The view as search params, leaving defaults out so links stay short. Parameters this
 * module does not own are kept (another screen may add its own).
 */
export function serializeView(view: RunView, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const out = new URLSearchParams(base);
  const set = (name: string, value: string | null) => (value === null ? out.delete(name) : out.set(name, value));
  set('tab', view.tab === DEFAULT_VIEW.tab ? null : view.tab);
  set('keys', view.keys && view.keys.length > 0 ? view.keys.join(',') : null);
  set('from', view.range ? String(view.range.start) : null);
  set('to', view.range ? String(view.range.end) : null);
  set('smooth', view.smooth > 0 ? String(Math.round(view.smooth * 100) / 100) : null);
  set('log', view.log.length > 0 ? view.log.join(',') : null);
  set('family', view.family);
  return out;
}

/**
 * The integer step range covering a zoom selection [min, max] in step units (uPlot hands
 * back fractional steps). Null for a selection narrower than one step.
 */
export function zoomRange(min: number, max: number): StepRange | null {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return null;
  const start = Math.max(0, Math.floor(Math.min(min, max)));
  const end = Math.ceil(Math.max(min, max)) + 1;
  return end - start >= 2 ? { start, end } : null;
}

export function sameRange(a: StepRange | null, b: StepRange | null): boolean {
  return a === b || (a !== null && b !== null && a.start === b.start && a.end === b.end);
}
