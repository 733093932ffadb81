import { useEffect, useState } from 'react';

/**
 * `value`, once it has stopped changing for `ms`. Zoom uses it so a burst of zooms
 * (drag, drag, double-click) sends one request for where the user settled.
 * `equal` decides what counts as a change (ranges are compared by value).
 */
export function useDebouncedValue<T>(value: T, ms: number, equal: (a: T, b: T) => boolean = Object.is): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    if (equal(value, settled)) return;
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms, equal, settled]);
  return settled;
}
