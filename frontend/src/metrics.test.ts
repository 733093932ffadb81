import { describe, expect, it } from 'vitest';
import { availableFamilies, chartKeys, isPerParameterKey } from './metrics';

describe('isPerParameterKey', () => {
  it('recognises every per-parameter family', () => {
    for (const key of [
      'grad_norm/blocks.0.attn.q_proj.weight',
      'param_norm/fc.weight',
      'update_ratio/fc.bias',
      'spike_frac/fc.weight',
      'eps_frac/fc.weight',
      'nonfinite/fc.weight',
      'spectral/top_sv/fc.weight',
      'act/dead_frac/mlp',
      'rank/0/loss',
    ]) {
      expect(isPerParameterKey(key), key).toBe(true);
    }
  });

  it('keeps scalars, including grad_norm/post_clip and the global update_ratio', () => {
    for (const key of ['loss', 'grad_norm', 'grad_norm/post_clip', 'update_ratio', 'time/step_s', 'lr/decay', 'val/loss']) {
      expect(isPerParameterKey(key), key).toBe(false);
    }
  });
});

describe('chartKeys', () => {
  it('puts loss and grad_norm first even when absent, then training signals, speed, memory, user keys', () => {
    const keys = ['time/step_s', 'grad_norm/fc.weight', 'lr', 'grad_norm/post_clip', 'act/dead_frac/mlp', 'acc'];
    expect(chartKeys(keys)).toEqual(['loss', 'grad_norm', 'lr', 'grad_norm/post_clip', 'time/step_s', 'acc']);
    const more = ['agent/errors', 'memory/rss_gb', 'val/acc', 'time/data_s', 'throughput/samples_per_s', 'update_ratio', 'val/loss', 'mfu'];
    expect(chartKeys(more)).toEqual([
      'loss',
      'grad_norm',
      'val/loss',
      'update_ratio',
      'throughput/samples_per_s',
      'mfu',
      'time/data_s',
      'memory/rss_gb',
      'val/acc',
      'agent/errors',
    ]);
  });

  it('does not repeat pinned or duplicated keys', () => {
    expect(chartKeys(['grad_norm', 'loss', 'lr', 'lr'])).toEqual(['loss', 'grad_norm', 'lr']);
    expect(chartKeys([])).toEqual(['loss', 'grad_norm']);
  });
});

describe('availableFamilies', () => {
  it('offers the families the run has, in the heatmap order, with layer counts', () => {
    const found = availableFamilies(['update_ratio/a', 'grad_norm/a', 'grad_norm/b', 'loss', 'spectral/stable_rank/a']);
    expect(found.map((f) => [f.family.prefix, f.layers])).toEqual([
      ['grad_norm/', 2],
      ['update_ratio/', 1],
      ['spectral/stable_rank/', 1],
    ]);
    expect(found[2]!.family.agg).toBe('min');
  });
});
