import { describe, expect, it } from 'vitest';
import { codeOf, evidenceRange, evidenceRows, evidenceTables, evidenceText, gauge, paramRows, thresholdPairs } from './evidence';

describe('thresholdPairs', () => {
  it('pairs a bare threshold with the statistic the rule compared', () => {
    const divergence = { signal: 'loss (EMA)', best: 0.5, progress_lost: 0.62, threshold: 0.25, onset_step: 410 };
    expect(thresholdPairs(divergence)).toEqual([
      { statistic: 'progress_lost', value: 0.62, threshold: 'threshold', limit: 0.25 },
    ]);
    expect(thresholdPairs({ median_data_s: 0.01, share: 0.45, threshold: 0.3 })[0]!.statistic).toBe('share');
  });

  it('pairs prefixed thresholds with their statistic', () => {
    expect(thresholdPairs({ gap: 0.4, gap_threshold: 0.1 })).toEqual([
      { statistic: 'gap', value: 0.4, threshold: 'gap_threshold', limit: 0.1 },
    ]);
    const exploding = { growth: 120, threshold: 10, first_over_last_layer_rms: 30, layer_ratio_threshold: 10 };
    expect(thresholdPairs(exploding).map((p) => p.statistic)).toEqual(['growth', 'first_over_last_layer_rms']);
  });

  it('uses the largest z of spike events and the worst layer of a layer dict', () => {
    const spikes = { z_threshold: 6, events: [{ peak_step: 5, z: 7.5 }, { peak_step: 9, z: 12 }] };
    expect(thresholdPairs(spikes)).toEqual([{ statistic: 'largest z', value: 12, threshold: 'z_threshold', limit: 6 }]);
    expect(thresholdPairs({ threshold: 0.5, layers: { a: 0.6, b: 0.93 } })[0]).toMatchObject({ statistic: 'worst layer', value: 0.93 });
  });

  it('skips thresholds without a statistic', () => {
    expect(thresholdPairs({ spam_fraction_threshold: 0.001, threshold: 'x' })).toEqual([]);
  });
});

describe('evidenceRows and evidenceTables', () => {
  const evidence = {
    signal: 'loss',
    z_threshold: 6,
    events: [{ onset: 3, peak_step: 5, peak: 12.5, z: 9 }],
    with_gradient_spike: [5, 1200],
    first_nonfinite_step: 1234,
    layers: { 'fc.weight': 0.91 },
  };

  it('lists the remaining fields with readable labels and values', () => {
    expect(evidenceRows(evidence)).toEqual([
      { key: 'with_gradient_spike', label: 'with gradient spike', text: '5, 1,200' },
      { key: 'first_nonfinite_step', label: 'first nonfinite step', text: '1,234' },
      { key: 'layers', label: 'layers', text: 'fc.weight: 0.91' },
    ]);
  });

  it('turns event lists into tables', () => {
    expect(evidenceTables(evidence)).toEqual([{ key: 'events', columns: ['onset', 'peak_step', 'peak', 'z'], rows: evidence.events }]);
  });

  it('formats values by kind', () => {
    expect(evidenceText('best_step', 12345)).toBe('12,345');
    expect(evidenceText('best', 0.000012)).toBe('1.2e-5');
    expect(evidenceText('x', null)).toBe('—');
    expect(evidenceText('rank', { a: { first: 10, last: 2 } })).toBe('a: first 10, last 2');
  });
});

describe('gauge', () => {
  it('places statistic and threshold on one 0..1 scale', () => {
    expect(gauge({ statistic: 's', value: 1, threshold: 't', limit: 0.5 })).toEqual({ statistic: 0.8, threshold: 0.4 });
    expect(gauge({ statistic: 's', value: 0, threshold: 't', limit: 0 })).toEqual({ statistic: 0, threshold: 0 });
  });
});

describe('recommendation params', () => {
  const params = {
    lr: { from: 0.003, to: 0.001 },
    max_norm: 1.8,
    zclip: { z_threshold: 2.5, alpha: 0.97 },
    code: 'torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.8)',
  };

  it('reads from → to changes and nested settings, leaving the code out', () => {
    expect(paramRows(params)).toEqual([
      { name: 'lr', text: '0.003 → 0.001' },
      { name: 'max_norm', text: '1.8' },
      { name: 'zclip', text: 'z_threshold = 2.5, alpha = 0.97' },
    ]);
  });

  it('finds the pasteable line', () => {
    expect(codeOf(params)).toBe(params.code);
    expect(codeOf({ lr: 1 })).toBeNull();
    expect(codeOf({ code: '  ' })).toBeNull();
  });
});

describe('evidenceRange', () => {
  it('pads the diagnosis span by half its length, at least 20 steps, within the run', () => {
    expect(evidenceRange(400, 600, 1000)).toEqual({ start: 300, end: 701 });
    expect(evidenceRange(5, 5, 1000)).toEqual({ start: 0, end: 26 });
    expect(evidenceRange(900, 990, 1000)).toEqual({ start: 855, end: 1001 });
    expect(evidenceRange(10, 20, null)).toEqual({ start: 0, end: 41 });
  });
});
