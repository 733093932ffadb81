import { describe, expect, it } from 'vitest';
import { compareKeyChoices, defaultCompareKeys, MAX_COMPARE_RUNS, parseCompareView, serializeCompareView } from './compareView';

describe('compare view in the URL', () => {
  it('round-trips', () => {
    const view = { runs: ['a', 'b'], keys: ['loss', 'lr'], log: ['loss'], smooth: 0.6 };
    const params = serializeCompareView(view);
    expect(params.toString()).toBe('runs=a%2Cb&keys=loss%2Clr&log=loss&smooth=0.6');
    expect(parseCompareView(params)).toEqual(view);
  });

  it('dedupes and bounds the run list', () => {
    const many = Array.from({ length: 30 }, (_, i) => `r${i}`).join(',');
    expect(parseCompareView(new URLSearchParams(`runs=a,a,${many}`)).runs).toHaveLength(MAX_COMPARE_RUNS);
    expect(parseCompareView(new URLSearchParams('')).runs).toEqual([]);
  });
});

describe('compareKeyChoices', () => {
  it('lists scalar keys in chart order with how many runs have each', () => {
    const choices = compareKeyChoices([['loss', 'lr', 'grad_norm/a'], ['loss', 'acc'], undefined]);
    expect(choices).toEqual([
      { key: 'loss', runs: 2 },
      { key: 'lr', runs: 1 },
      { key: 'acc', runs: 1 },
    ]);
    expect(defaultCompareKeys(choices)).toEqual(['loss']);
    expect(defaultCompareKeys([{ key: 'acc' }])).toEqual(['acc']);
    expect(defaultCompareKeys([])).toEqual([]);
  });
});
