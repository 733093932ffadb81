// Response shapes of the Gradsight REST API (/api/v1), as fixed in shared/ARCHITECTURE.md.
// Field names stay as on the wire (snake_case) so these types read like the contract.

export type RunStatus = 'running' | 'finished' | 'crashed';

export interface Health {
  critical: number;
  warning: number;
  info: number;
}

export interface Run {
  id: string;
  project: string;
  name: string;
  status: RunStatus;
  config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  last_step: number | null;
  health: Health;
}

/** `GET /runs` */
export interface RunPage {
  items: Run[];
  total: number;
}

/** `GET /runs/{id}/keys`, `GET /runs/{id}/diagnoses` */
export interface ItemList<T> {
  items: T[];
}

/**
 * One key's downsampled series after decoding: arrays aligned by bucket.
 * Numbers are decoded from the wire, so NaN and ±Infinity are real numbers here
 * (the wire spells them "NaN", "Infinity", "-Infinity"). `min`/`max`/`mean` are over
 * finite values and null for a bucket without any; `last` is the value as logged.
 */
export interface SeriesEntry {
  key: string;
  raw: boolean;
  step: number[];
  min: (number | null)[];
  max: (number | null)[];
  mean: (number | null)[];
  last: (number | null)[];
  count: number[];
  nonfinite: number[];
}

/** `GET /runs/{id}/series` */
export interface SeriesResponse {
  run_id: string;
  series: SeriesEntry[];
}

export type Severity = 'info' | 'warning' | 'critical';

export interface Reference {
  title: string;
  url: string;
}

/**
 * One concrete change, computed from the run's own numbers. `params` holds the values
 * (`{"lr": {"from": 3e-3, "to": 1e-3}}`) and, where a line can be pasted, `"code"`.
 */
export interface Recommendation {
  action: string;
  detail: string;
  params: Record<string, unknown>;
  references: Reference[];
}

export interface Diagnosis {
  id: string;
  rule: string;
  severity: Severity;
  status: 'open' | 'resolved';
  first_step: number;
  last_step: number;
  summary: string;
  evidence: Record<string, unknown>;
  recommendations: Recommendation[];
}

/**
 * `GET /runs/{id}/matrix`: one row per layer (model order), one column per step bucket.
 * Decoded like series: non-finite values are real numbers, empty cells are null.
 */
export interface MatrixResponse {
  family: string;
  layers: string[];
  step: number[];
  values: (number | null)[][];
}

/** One run's entries in `GET /compare` (one entry per requested key). */
export interface CompareRun {
  run_id: string;
  series: SeriesEntry[];
}

/** `GET /compare` */
export interface CompareResponse {
  runs: CompareRun[];
}

/** `GET /runs/{id}/advisor` (diagnosis/advisor.py `advise`). */
export interface AdvisorResponse {
  run_id: string;
  inputs: {
    non_embedding_params: number | null;
    tokens: number | null;
    tokens_source: string | null;
    tokens_per_step: number | null;
    peak_lr: number | null;
  };
  step_law: {
    lr: number;
    batch_tokens: number;
    in_fitted_regime: boolean;
    lr_ratio?: number;
    batch_ratio?: number;
  } | null;
  gradient_noise_scale: { critical_batch: number; steps: number; note: string } | null;
  recommendations: Recommendation[];
  references: Reference[];
  note?: string;
}

/** A step range [start, end) on the x axis: what a zoom asks the server for. */
export interface StepRange {
  start: number;
  end: number;
}

/** Query parameters of `GET /runs`. */
export interface RunListParams {
  project?: string;
  q?: string;
  status?: RunStatus;
  limit?: number;
  offset?: number;
}

/** `GET /auth/me` (docs/security.md): who is signed in, or local mode. */
export interface Me {
  mode: 'local' | 'authenticated';
  kind: 'local' | 'user' | 'key';
  user: { username: string; admin: boolean } | null;
  projects: { name: string; role: 'viewer' | 'editor' | 'admin' | null }[];
  csrf_token: string | null;
}
