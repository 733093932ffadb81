// The compare view's state in the URL (`/compare?runs=a,b&keys=loss,lr&log=loss&smooth=0.6`)
// and the choice of keys to offer. Pure.

import { chartKeys, isPerParameterKey } from './metrics';
import { MAX_SMOOTH } from './viewState';

export interface CompareView {
  runs: string[];
  keys: string[];
  log: string[];
  smooth: number;
}

/** Compare requests carry every run id and key in one query string; keep it bounded. */
export const MAX_COMPARE_RUNS = 20;

function list(value: string | null): string[] {
  return value ? [...new Set(value.split(',').map((v) => v.trim()).filter(Boolean))] : [];
}

export function parseCompareView(params: URLSearchParams): CompareView {
  const smooth = Number(params.get('smooth'));
  return {
    runs: list(params.get('runs')).slice(0, MAX_COMPARE_RUNS),
    keys: list(params.get('keys')),
    log: list(params.get('log')),
    smooth: Number.isFinite(smooth) ? Math.min(MAX_SMOOTH, Math.max(0, smooth)) : 0,
  };
}

export function serializeCompareView(view: CompareView): URLSearchParams {
  const out = new URLSearchParams();
  if (view.runs.length) out.set('runs', view.runs.join(','));
  if (view.keys.length) out.set('keys', view.keys.join(','));
  if (view.log.length) out.set('log', view.log.join(','));
  if (view.smooth > 0) out.set('smooth', String(Math.round(view.smooth * 100) / 100));
  return out;
}

/**
 * Scalar keys across the runs, in chart order, with how many runs have each: a key every
 * run logs is the natural thing to compare, one only some runs log is still offered.
 */
export function compareKeyChoices(keysPerRun: readonly (readonly string[] | undefined)[]): { key: string; runs: number }[] {
  const counts = new Map<string, number>();
  for (const keys of keysPerRun) for (const key of new Set(keys ?? [])) if (!isPerParameterKey(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return chartKeys([...counts.keys()])
    .filter((key) => counts.has(key))
    .map((key) => ({ key, runs: counts.get(key) ?? 0 }));
}

/** The keys shown when the URL names none: loss if any run has it, else the first choice. */
export function defaultCompareKeys(choices: readonly { key: string }[]): string[] {
  if (choices.some((c) => c.key === 'loss')) return ['loss'];
  return choices.length ? [choices[0]!.key] : [];
}
