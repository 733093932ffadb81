// Which metric keys the run page charts, and in what order (metric names: ARCHITECTURE.md).

/** Always charted first, with a "no data yet" state until the run logs them. */
export const PINNED_KEYS: readonly string[] = ['loss', 'grad_norm'];

/**
 * Families suffixed with a parameter, module or rank name. They can number in the
 * thousands, so they wait for heatmaps and per-layer views instead of one chart each.
 */
export const PER_PARAMETER_PREFIXES: readonly string[] = [
  'grad_norm/',
  'param_norm/',
  'update_ratio/',
  'spike_frac/',
  'eps_frac/',
  'nonfinite/',
  'spectral/',
  'act/',
  'rank/',
];

/** Scalars whose names happen to start with a family prefix. */
const SCALAR_EXCEPTIONS: ReadonlySet<string> = new Set(['grad_norm/post_clip']);

export function isPerParameterKey(key: string): boolean {
  if (SCALAR_EXCEPTIONS.has(key)) return false;
  return PER_PARAMETER_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/**
 * The keys to chart: the pinned keys (present or not), then every other scalar key in
 * name order, so related keys (`time/…`, `memory/…`) sit together and the grid does
 * not reshuffle when a new key appears.
 */
export function chartKeys(available: readonly string[]): string[] {
  const rest = available
    .filter((key) => !PINNED_KEYS.includes(key) && !isPerParameterKey(key))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [...PINNED_KEYS, ...new Set(rest)];
}
