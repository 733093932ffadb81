import { useCallback, useState } from 'react';

/**
 * Tracks an element's content width with a ResizeObserver. Returns a callback ref and
 * the width in CSS pixels (0 until the element is mounted and measured).
 */
export function useElementWidth<T extends HTMLElement>(): [(node: T | null) => void, number] {
  const [width, setWidth] = useState(0);
  const ref = useCallback((node: T | null) => {
    if (!node) return;
    setWidth(Math.floor(node.getBoundingClientRect().width));
    const observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w !== undefined) setWidth(Math.floor(w));
    });
    observer.observe(node);
    return () => observer.disconnect(); // React 19: callback refs may return a cleanup
  }, []);
  return [ref, width];
}
