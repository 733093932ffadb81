// Diagnosis markers on charts: which diagnoses belong on which chart, and where. Pure.
//
// A diagnosis names the signals it read in `evidence.signal` ("loss (EMA)",
// "grad_norm, spike_frac/<p>", "update_ratio/<p>"). A chart shows the diagnoses whose
// signals include its key, or whose per-layer family (`update_ratio/<p>`) it belongs to
// or summarises (the global `update_ratio` chart).

import type { Diagnosis, Severity } from '../api/types';

export interface Mark {
  /** First step of the span (inclusive). */
  from: number;
  /** Last step of the span (inclusive). */
  to: number;
  severity: Severity;
  rule: string;
  open: boolean;
}

/** Signal keys and family prefixes named by a diagnosis's evidence. */
export function signalKeys(diagnosis: Pick<Diagnosis, 'evidence'>): string[] {
  const signal = diagnosis.evidence?.signal;
  if (typeof signal !== 'string') return [];
  return signal
    .split(',')
    .map((part) => part.trim().split(/\s+/)[0] ?? '')
    .map((part) => {
      const family = part.indexOf('<');
      return family >= 0 ? part.slice(0, family) : part;
    })
    .filter((part) => part !== '');
}

/** True when a chart of `key` should show a diagnosis that read `signal` (a key or a family prefix). */
export function signalMatches(key: string, signal: string): boolean {
  if (signal.endsWith('/')) return key.startsWith(signal) || key === signal.slice(0, -1);
  return key === signal;
}

export function isRelevant(diagnosis: Pick<Diagnosis, 'evidence'>, key: string): boolean {
  return signalKeys(diagnosis).some((signal) => signalMatches(key, signal));
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Marks for one chart, most severe last so it is drawn on top. */
export function marksForKey(diagnoses: readonly Diagnosis[] | undefined, key: string): Mark[] {
  if (!diagnoses) return [];
  return diagnoses
    .filter((d) => isRelevant(d, key))
    .map((d) => ({
      from: Math.min(d.first_step, d.last_step),
      to: Math.max(d.first_step, d.last_step),
      severity: d.severity,
      rule: d.rule,
      open: d.status === 'open',
    }))
    .sort((a, b) => RANK[b.severity] - RANK[a.severity] || a.from - b.from);
}

/** The marks covering `step` (for the hover readout). */
export function marksAt(marks: readonly Mark[], step: number | null | undefined): Mark[] {
  if (step === null || step === undefined) return [];
  return marks.filter((m) => step >= m.from && step <= m.to);
}

/**
 * The main key to chart as a diagnosis's evidence: its first signal that the run has, or,
 * for a per-layer family, the layer the evidence names as the worst one (else the first
 * layer the run has in that family).
 */
export function evidenceKey(diagnosis: Pick<Diagnosis, 'evidence'>, available: readonly string[]): string | null {
  const have = new Set(available);
  for (const signal of signalKeys(diagnosis)) {
    if (!signal.endsWith('/')) {
      if (have.has(signal)) return signal;
      continue;
    }
    const layer = worstLayer(diagnosis.evidence);
    if (layer !== null && have.has(signal + layer)) return signal + layer;
    const scalar = signal.slice(0, -1);
    if (have.has(scalar)) return scalar;
    const first = available.find((k) => k.startsWith(signal));
    if (first) return first;
  }
  return null;
}

/** The layer with the largest value in evidence.layers (`{name: number}` or `{name: {last}}`). */
export function worstLayer(evidence: Record<string, unknown> | undefined): string | null {
  const layers = evidence?.layers;
  if (typeof layers !== 'object' || layers === null || Array.isArray(layers)) return null;
  let best: string | null = null;
  let bestValue = -Infinity;
  for (const [name, value] of Object.entries(layers as Record<string, unknown>)) {
    const v = typeof value === 'number' ? value : scalarOf(value);
    if (best === null || (v !== null && v > bestValue)) {
      best = name;
      bestValue = v ?? -Infinity;
    }
  }
  return best;
}

function scalarOf(value: unknown): number | null {
  if (typeof value !== 'object' || value === null) return null;
  for (const field of ['last', 'value', 'max']) {
    const v = (value as Record<string, unknown>)[field];
    if (typeof v === 'number') return v;
  }
  return null;
}
