import { describe, expect, it } from 'vitest';
import { chartKeys, isPerParameterKey } from './metrics';

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
  it('puts loss and grad_norm first even when absent, then other scalars by name', () => {
    const keys = ['time/step_s', 'grad_norm/fc.weight', 'lr', 'grad_norm/post_clip', 'act/dead_frac/mlp', 'acc'];
    expect(chartKeys(keys)).toEqual(['loss', 'grad_norm', 'acc', 'grad_norm/post_clip', 'lr', 'time/step_s']);
  });

  it('does not repeat pinned or duplicated keys', () => {
    expect(chartKeys(['grad_norm', 'loss', 'lr', 'lr'])).toEqual(['loss', 'grad_norm', 'lr']);
    expect(chartKeys([])).toEqual(['loss', 'grad_norm']);
  });
});
