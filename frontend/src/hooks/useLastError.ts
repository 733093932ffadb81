import { useEffect, useState } from 'react';

interface QueryLike {
  data: unknown;
  error: unknown;
  failureReason: unknown;
}

/**
 * The error to show for a polled query that has no data yet. TanStack Query resets a
 * failed query without data to 'pending' (error cleared) each time it refetches, so a
 * polled page would flash between its error and loading states. This keeps the last
 * error on screen until data arrives.
 */
export function useLastError(query: QueryLike): unknown {
  const current = query.error ?? query.failureReason ?? null;
  const hasData = query.data !== undefined;
  const [last, setLast] = useState<unknown>(null);
  useEffect(() => {
    if (current !== null) setLast(current);
    else if (hasData) setLast(null);
  }, [current, hasData]);
  return hasData ? null : (current ?? last);
}
