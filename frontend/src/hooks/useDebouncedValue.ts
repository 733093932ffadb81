import { useEffect, useRef, useState } from 'react';

/**
 * `value`, debounced with a leading edge: a change after a quiet period applies at once
 * (a single zoom re-queries immediately), while changes within `ms` of the previous one
 * wait until the value has been stable for `ms` (a burst of zooms — drag, drag,
 * double-click — sends one request for where the user settled).
 * `equal` decides what counts as a change (ranges are compared by value).
 */
export function useDebouncedValue<T>(value: T, ms: number, equal: (a: T, b: T) => boolean = Object.is): T {
  const [settled, setSettled] = useState(value);
  const lastChange = useRef(-Infinity);
  useEffect(() => {
    if (equal(value, settled)) return;
    const now = performance.now();
    const quiet = now - lastChange.current >= ms;
    lastChange.current = now;
    if (quiet) {
      setSettled(value);
      return;
    }
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms, equal, settled]);
  return settled;
}
