import { describe, expect, it } from 'vitest';
import type { Diagnosis } from '../api/types';
import { evidenceKey, marksAt, marksForKey, signalKeys, signalMatches, worstLayer } from './marks';

function diagnosis(partial: Partial<Diagnosis>): Diagnosis {
  return {
    id: 'd1',
    rule: 'divergence',
    severity: 'critical',
    status: 'open',
    first_step: 100,
    last_step: 200,
    summary: '',
    evidence: {},
    recommendations: [],
    ...partial,
  };
}

describe('signalKeys', () => {
  it('reads keys and family prefixes from evidence.signal, dropping annotations', () => {
    expect(signalKeys(diagnosis({ evidence: { signal: 'loss (EMA)' } }))).toEqual(['loss']);
    expect(signalKeys(diagnosis({ evidence: { signal: 'grad_norm, spike_frac/<p>' } }))).toEqual([
      'grad_norm',
      'spike_frac/',
    ]);
    expect(signalKeys(diagnosis({ evidence: { signal: 'grad_norm/<p> per element' } }))).toEqual(['grad_norm/']);
    expect(signalKeys(diagnosis({ evidence: { signal: 'act/dead_frac/<m>' } }))).toEqual(['act/dead_frac/']);
  });

  it('is empty without a signal', () => {
    expect(signalKeys(diagnosis({ evidence: {} }))).toEqual([]);
    expect(signalKeys(diagnosis({ evidence: { signal: 3 } }))).toEqual([]);
  });
});

describe('signalMatches', () => {
  it('matches a key exactly, and a family to its layers and its global scalar', () => {
    expect(signalMatches('loss', 'loss')).toBe(true);
    expect(signalMatches('val/loss', 'loss')).toBe(false);
    expect(signalMatches('update_ratio/fc.weight', 'update_ratio/')).toBe(true);
    expect(signalMatches('update_ratio', 'update_ratio/')).toBe(true);
    expect(signalMatches('grad_norm', 'update_ratio/')).toBe(false);
  });
});

describe('marksForKey and marksAt', () => {
  const items = [
    diagnosis({ id: 'a', severity: 'warning', evidence: { signal: 'loss' }, first_step: 50, last_step: 60 }),
    diagnosis({ id: 'b', severity: 'critical', evidence: { signal: 'loss (EMA)' }, status: 'resolved' }),
    diagnosis({ id: 'c', evidence: { signal: 'time/data_s, time/step_s' } }),
  ];

  it('keeps the diagnoses that read the chart key, most severe last (drawn on top)', () => {
    const marks = marksForKey(items, 'loss');
    expect(marks.map((m) => [m.severity, m.from, m.to, m.open])).toEqual([
      ['warning', 50, 60, true],
      ['critical', 100, 200, false],
    ]);
    expect(marksForKey(items, 'time/step_s')).toHaveLength(1);
    expect(marksForKey(items, 'lr')).toEqual([]);
    expect(marksForKey(undefined, 'loss')).toEqual([]);
  });

  it('finds the spans covering a step, ends included', () => {
    const marks = marksForKey(items, 'loss');
    expect(marksAt(marks, 55).map((m) => m.severity)).toEqual(['warning']);
    expect(marksAt(marks, 200).map((m) => m.severity)).toEqual(['critical']);
    expect(marksAt(marks, 70)).toEqual([]);
    expect(marksAt(marks, null)).toEqual([]);
  });
});

describe('evidenceKey', () => {
  it('picks the first signal the run has', () => {
    const d = diagnosis({ evidence: { signal: 'time/data_s, time/step_s' } });
    expect(evidenceKey(d, ['loss', 'time/step_s'])).toBe('time/step_s');
    expect(evidenceKey(d, ['loss'])).toBeNull();
  });

  it('picks the worst layer of a per-layer family, then the global scalar, then any layer', () => {
    const d = diagnosis({ evidence: { signal: 'act/dead_frac/<m>', layers: { '0': 0.5, '2': 0.9 } } });
    expect(evidenceKey(d, ['act/dead_frac/0', 'act/dead_frac/2'])).toBe('act/dead_frac/2');
    const ratio = diagnosis({ evidence: { signal: 'update_ratio/<p>' } });
    expect(evidenceKey(ratio, ['update_ratio', 'update_ratio/fc.weight'])).toBe('update_ratio');
    expect(evidenceKey(ratio, ['update_ratio/fc.weight'])).toBe('update_ratio/fc.weight');
  });

  it('reads nested layer evidence ({first, last})', () => {
    expect(worstLayer({ layers: { a: { first: 9, last: 1 }, b: { first: 9, last: 3 } } })).toBe('b');
    expect(worstLayer({})).toBeNull();
  });
});
