// How a diagnosis's evidence and recommendations read on screen. Pure.
//
// Evidence is a free-form dict per rule (backend diagnosis/rules/*.py). The one thing a
// reader wants first is "the statistic vs the threshold it crossed": each `*threshold`
// key is paired with the statistic it was compared to. Everything else is listed as
// label/value rows.

import { formatInteger, formatNumber } from './format';

export interface ThresholdPair {
  statistic: string;
  value: number;
  threshold: string;
  limit: number;
}

/** Which evidence field a bare `threshold` judges, in the order the rules use them. */
const STATISTICS_FOR_THRESHOLD: readonly string[] = [
  'progress_lost',
  'growth',
  'skipped_share',
  'share',
  'median_ratio',
  'early_over_median',
  'improvement',
  'median',
  'max',
  'parameter_share',
];

/** Statistics named differently from their threshold's prefix. */
const STATISTIC_FOR_PREFIX: Readonly<Record<string, string>> = {
  layer_ratio: 'first_over_last_layer_rms',
};

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The largest number among a dict's values (`layers: {name: 0.93}`) or an event list's `field`. */
function largest(value: unknown, field?: string): number | null {
  const items = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.values(value) : [];
  let best: number | null = null;
  for (const item of items) {
    const v = field && typeof item === 'object' && item !== null ? num((item as Record<string, unknown>)[field]) : num(item);
    if (v !== null && (best === null || v > best)) best = v;
  }
  return best;
}

export function thresholdPairs(evidence: Record<string, unknown>): ThresholdPair[] {
  const out: ThresholdPair[] = [];
  for (const [key, raw] of Object.entries(evidence)) {
    const limit = num(raw);
    if (limit === null || !key.endsWith('threshold')) continue;
    const prefix = key.slice(0, -'threshold'.length).replace(/_$/, '');
    let statistic: string | undefined;
    let value: number | null = null;
    if (prefix === '') {
      statistic = STATISTICS_FOR_THRESHOLD.find((name) => num(evidence[name]) !== null);
      value = statistic ? num(evidence[statistic]) : null;
      if (value === null && evidence.layers !== undefined) {
        statistic = 'worst layer';
        value = largest(evidence.layers);
      }
    } else if (prefix === 'z') {
      statistic = 'largest z';
      value = largest(evidence.events, 'z');
    } else {
      statistic = STATISTIC_FOR_PREFIX[prefix] ?? prefix;
      value = num(evidence[statistic]);
    }
    if (statistic !== undefined && value !== null) out.push({ statistic, value, threshold: key, limit });
  }
  return out;
}

/** "progress_lost" → "progress lost". */
export function humanize(key: string): string {
  return key.replace(/_/g, ' ');
}

const STEP_FIELD = /(^|_)step$|_step_|^onset$|_at$/;

/** One evidence value as text: steps as integers, numbers compactly, dicts as `k: v` lists. */
export function evidenceText(key: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return STEP_FIELD.test(key) ? formatInteger(value) : formatNumber(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'number')) return value.map((v) => formatInteger(v as number)).join(', ');
    return `${value.length} item${value.length === 1 ? '' : 's'}`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return entries
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? compact(v as Record<string, unknown>) : evidenceText(k, v)}`)
    .join('; ');
}

function compact(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) => `${humanize(k)} ${evidenceText(k, v)}`)
    .join(', ');
}

export interface EvidenceRow {
  key: string;
  label: string;
  text: string;
}

/** The evidence fields other than the signal and the threshold pairs, and any event table. */
export function evidenceRows(evidence: Record<string, unknown>): EvidenceRow[] {
  const paired = new Set(thresholdPairs(evidence).flatMap((p) => [p.statistic, p.threshold]));
  return Object.entries(evidence)
    .filter(([key, value]) => key !== 'signal' && !paired.has(key) && !isEventList(value))
    .map(([key, value]) => ({ key, label: humanize(key), text: evidenceText(key, value) }));
}

export type EventRow = Record<string, unknown>;

function isEventList(value: unknown): value is EventRow[] {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
}

/** Lists of event objects (spike events), shown as small tables: [field name, rows]. */
export function evidenceTables(evidence: Record<string, unknown>): { key: string; columns: string[]; rows: EventRow[] }[] {
  return Object.entries(evidence)
    .filter((entry): entry is [string, EventRow[]] => isEventList(entry[1]))
    .map(([key, rows]) => ({ key, columns: [...new Set(rows.flatMap((r) => Object.keys(r)))], rows }));
}

/** Where a statistic sits against its threshold on a 0..1 gauge (threshold at 0.5 when they are equal). */
export function gauge(pair: ThresholdPair): { statistic: number; threshold: number } {
  const top = Math.max(Math.abs(pair.value), Math.abs(pair.limit)) * 1.25 || 1;
  const clamp = (v: number) => Math.max(0, Math.min(1, v / top));
  return { statistic: clamp(Math.abs(pair.value)), threshold: clamp(Math.abs(pair.limit)) };
}

// -- recommendations ------------------------------------------------------------------------

export interface ParamRow {
  name: string;
  text: string;
}

function paramText(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.map(paramText).join(', ');
  const obj = value as Record<string, unknown>;
  if ('from' in obj && 'to' in obj) return `${paramText(obj.from)} → ${paramText(obj.to)}`;
  return Object.entries(obj)
    .map(([k, v]) => `${k} = ${paramText(v)}`)
    .join(', ');
}

/** A recommendation's concrete values as rows (`lr: 0.003 → 0.001`), the pasteable code excluded. */
export function paramRows(params: Record<string, unknown>): ParamRow[] {
  return Object.entries(params)
    .filter(([name]) => name !== 'code')
    .map(([name, value]) => ({ name, text: paramText(value) }));
}

/** The line to paste, when the recommendation has one. */
export function codeOf(params: Record<string, unknown>): string | null {
  const code = params.code;
  return typeof code === 'string' && code.trim() !== '' ? code : null;
}

/**
 * The step range an evidence chart shows: the diagnosis's steps with context on both
 * sides (half the span, at least 20 steps), clipped to the run.
 */
export function evidenceRange(first: number, last: number, runLastStep: number | null): { start: number; end: number } {
  const lo = Math.min(first, last);
  const hi = Math.max(first, last);
  const pad = Math.max(20, Math.ceil((hi - lo) / 2));
  const end = runLastStep === null ? hi + pad + 1 : Math.min(runLastStep + 1, hi + pad + 1);
  return { start: Math.max(0, lo - pad), end: Math.max(end, lo + 2) };
}
