import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW, parseRange, parseView, sameRange, serializeView, zoomRange } from './viewState';

describe('parseView', () => {
  it('reads every field from the URL', () => {
    const view = parseView(
      new URLSearchParams('tab=layers&keys=loss,time/step_s,loss&from=100&to=300&smooth=0.8&log=loss&family=update_ratio/'),
    );
    expect(view).toEqual({
      tab: 'layers',
      keys: ['loss', 'time/step_s'],
      range: { start: 100, end: 300 },
      smooth: 0.8,
      log: ['loss'],
      family: 'update_ratio/',
    });
  });

  it('falls back to defaults for missing or malformed values', () => {
    expect(parseView(new URLSearchParams(''))).toEqual(DEFAULT_VIEW);
    const bad = parseView(new URLSearchParams('tab=nope&smooth=abc&from=5&keys=,,'));
    expect(bad).toEqual(DEFAULT_VIEW);
    expect(parseView(new URLSearchParams('smooth=7')).smooth).toBe(0.99);
    expect(parseView(new URLSearchParams('smooth=-1')).smooth).toBe(0);
  });
});

describe('parseRange', () => {
  it('needs both ends, integers, and end after start', () => {
    expect(parseRange('10', '20')).toEqual({ start: 10, end: 20 });
    expect(parseRange('20', '10')).toBeNull();
    expect(parseRange('10', null)).toBeNull();
    expect(parseRange('1.5', '20')).toBeNull();
    expect(parseRange('-1', '20')).toBeNull();
  });
});

describe('serializeView', () => {
  it('round-trips and leaves defaults out', () => {
    const view = { ...DEFAULT_VIEW, tab: 'diagnoses' as const, keys: ['a', 'b/c'], range: { start: 5, end: 9 }, smooth: 0.6 };
    const params = serializeView(view);
    expect(params.toString()).toBe('tab=diagnoses&keys=a%2Cb%2Fc&from=5&to=9&smooth=0.6');
    expect(parseView(params)).toEqual(view);
    expect(serializeView(DEFAULT_VIEW).toString()).toBe('');
  });

  it('keeps parameters it does not own and removes cleared ones', () => {
    const base = new URLSearchParams('other=1&from=3&to=4');
    expect(serializeView(DEFAULT_VIEW, base).toString()).toBe('other=1');
  });
});

describe('zoomRange', () => {
  it('covers a fractional selection with whole steps, end exclusive', () => {
    expect(zoomRange(10.4, 19.6)).toEqual({ start: 10, end: 21 });
    expect(zoomRange(19.6, 10.4)).toEqual({ start: 10, end: 21 });
    expect(zoomRange(-5, 3)).toEqual({ start: 0, end: 4 });
  });

  it('ignores selections that are not a range', () => {
    expect(zoomRange(Number.NaN, 3)).toBeNull();
  });

  it('compares ranges by value', () => {
    expect(sameRange({ start: 1, end: 2 }, { start: 1, end: 2 })).toBe(true);
    expect(sameRange(null, null)).toBe(true);
    expect(sameRange(null, { start: 1, end: 2 })).toBe(false);
  });
});
