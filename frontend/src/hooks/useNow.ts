import { useEffect, useState } from 'react';

/** The current time in ms, refreshed every `periodMs`, for "12s ago" labels that age. */
export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(timer);
  }, [periodMs]);
  return now;
}
