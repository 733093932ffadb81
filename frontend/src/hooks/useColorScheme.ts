import { useEffect, useState } from 'react';
import { type ChartTheme, DARK, LIGHT } from '../charts/theme';

const QUERY = '(prefers-color-scheme: dark)';

/** The chart theme for the system colour scheme, following changes while the page is open. */
export function useChartTheme(): ChartTheme {
  const [dark, setDark] = useState(() => typeof matchMedia === 'function' && matchMedia(QUERY).matches);
  useEffect(() => {
    if (typeof matchMedia !== 'function') return;
    const media = matchMedia(QUERY);
    const onChange = () => setDark(media.matches);
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, []);
  return dark ? DARK : LIGHT;
}
