import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttle } from './throttle';

describe('throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs the first call at once and a burst once more at the end of the window', () => {
    let runs = 0;
    const t = throttle(() => runs++, 1000);
    t.call();
    expect(runs).toBe(1);
    t.call();
    t.call();
    t.call();
    expect(runs).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(2);
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(2); // nothing pending: no extra run
    t.call();
    expect(runs).toBe(3); // the window has closed: leading edge again
  });

  it('drops a pending run when cancelled', () => {
    let runs = 0;
    const t = throttle(() => runs++, 1000);
    t.call();
    t.call();
    t.cancel();
    vi.advanceTimersByTime(2000);
    expect(runs).toBe(1);
  });
});
