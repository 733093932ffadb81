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
 * Where known keys go in the grid: the training signals a reader checks first (loss, LR,
 * gradients, update size), then speed, then memory; user keys come after these (USER_RANK)
 * and agent bookkeeping last. A trailing '/' matches a whole group.
 */
const ORDER: readonly string[] = [
  'loss',
  'val/loss',
  'lr',
  'lr/',
  'grad_norm',
  'grad_norm/post_clip',
  'clip/',
  'update_ratio',
  'grad_noise_scale',
  'throughput/',
  'mfu',
  'time/data_s',
  'time/step_s',
  'time/',
  'memory/',
  'gpu/',
  'amp/',
];
const USER_RANK = ORDER.length;
const LAST: readonly string[] = ['agent/'];

function rank(key: string): number {
  const exact = ORDER.indexOf(key);
  if (exact >= 0) return exact;
  const group = ORDER.findIndex((p) => p.endsWith('/') && key.startsWith(p));
  if (group >= 0) return group;
  return LAST.some((p) => key.startsWith(p)) ? USER_RANK + 1 : USER_RANK;
}

/**
 * The keys to chart: the pinned keys (present or not), then every other scalar key by
 * group (ORDER) and name within a group, so related keys (`time/…`, `memory/…`) sit
 * together and the grid does not reshuffle when a new key appears.
 */
export function chartKeys(available: readonly string[]): string[] {
  const rest = [...new Set(available)]
    .filter((key) => !PINNED_KEYS.includes(key) && !isPerParameterKey(key))
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return [...PINNED_KEYS, ...rest];
}

/**
 * Per-layer families a heatmap can show, the ones the issue names first. A family is
 * offered when the run has at least one key in it.
 */
export const LAYER_FAMILIES: readonly { prefix: string; label: string; agg: 'max' | 'min' }[] = [
  { prefix: 'grad_norm/', label: 'Gradient norm', agg: 'max' },
  { prefix: 'update_ratio/', label: 'Update ratio', agg: 'max' },
  { prefix: 'spike_frac/', label: 'Spike fraction', agg: 'max' },
  { prefix: 'act/dead_frac/', label: 'Dead fraction', agg: 'max' },
  // Rank collapse is a fall: the bucket minimum is the value that matters.
  { prefix: 'spectral/stable_rank/', label: 'Stable rank', agg: 'min' },
  { prefix: 'param_norm/', label: 'Parameter norm', agg: 'max' },
  { prefix: 'eps_frac/', label: 'ε-dominated fraction', agg: 'max' },
  { prefix: 'nonfinite/', label: 'Non-finite count', agg: 'max' },
  { prefix: 'spectral/top_sv/', label: 'Top singular value', agg: 'max' },
  { prefix: 'spectral/alpha/', label: 'Spectral α', agg: 'min' },
  { prefix: 'act/saturated_frac/', label: 'Saturated fraction', agg: 'max' },
  { prefix: 'act/max_abs/', label: 'Max |activation|', agg: 'max' },
  { prefix: 'act/kurtosis/', label: 'Activation kurtosis', agg: 'max' },
];

export type LayerFamily = (typeof LAYER_FAMILIES)[number];

/** The families the run has keys for, in LAYER_FAMILIES order, with their layer counts. */
export function availableFamilies(keys: readonly string[]): { family: LayerFamily; layers: number }[] {
  return LAYER_FAMILIES.map((family) => ({
    family,
    layers: keys.filter((k) => k.startsWith(family.prefix)).length,
  })).filter((f) => f.layers > 0);
}
