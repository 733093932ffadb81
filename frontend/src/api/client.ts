// Typed fetch client for the Gradsight REST API (same origin, prefix /api/v1).
// One function per endpoint; every query hook in queries.ts goes through these.

import { parseCompareResponse, parseMatrixResponse, parseSeriesResponse } from './parse';
import type {
  AdvisorResponse,
  CompareResponse,
  Diagnosis,
  ItemList,
  MatrixResponse,
  Me,
  Run,
  RunListParams,
  RunPage,
  SeriesResponse,
  StepRange,
} from './types';

export const API_PREFIX = '/api/v1';

/** A non-2xx answer. `detail` is the server's `{"detail": …}` rendered as text. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;

  constructor(status: number, detail: string) {
    super(`HTTP ${status}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

type QueryValue = string | number | undefined | null;

/** Builds `/api/v1/<path>?a=1&b=x%2Fy`; empty and missing parameters are left out. */
export function apiUrl(path: string, params: Record<string, QueryValue> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const qs = query.toString();
  return `${API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
}

/** FastAPI details are strings or lists of `{loc, msg}`; both become one readable line. */
function describeDetail(body: unknown, fallback: string): string {
  if (typeof body !== 'object' || body === null || !('detail' in body)) return fallback;
  const detail = (body as { detail: unknown }).detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d: unknown) => (typeof d === 'object' && d !== null && 'msg' in d ? String((d as { msg: unknown }).msg) : JSON.stringify(d)))
      .join('; ');
  }
  return JSON.stringify(detail);
}

/**
 * Every request goes through here, and every failure leaves as an ApiError carrying the
 * HTTP status: an authentication layer can recognise a 401 in one place (a QueryCache
 * `onError`, or a check added here) without touching the endpoint functions.
 */
let onUnauthorized: () => void = () => {};

/** Called whenever the server answers 401 (signed out, session expired): the app shows the login form. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

const CSRF_COOKIE = 'gradsight_csrf';

/** The session's CSRF token, which every request that changes something must echo. */
export function csrfToken(cookies: string = typeof document === 'undefined' ? '' : document.cookie): string {
  for (const part of cookies.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join('='));
  }
  return '';
}

async function failure(response: Response): Promise<ApiError> {
  if (response.status === 401) onUnauthorized();
  const body: unknown = await response.json().catch(() => null);
  return new ApiError(response.status, describeDetail(body, response.statusText || 'request failed'));
}

async function getJson(path: string, params?: Record<string, QueryValue>, signal?: AbortSignal): Promise<unknown> {
  const response = await fetch(apiUrl(path, params), { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await failure(response);
  return response.json();
}

async function postJson(path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(apiUrl(path), {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // A failed sign-in is a 401 too; the login form shows it rather than re-rendering itself.
  if (!response.ok) throw path === '/auth/login' ? await failureQuiet(response) : await failure(response);
  return response.status === 204 ? null : response.json();
}

async function failureQuiet(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  return new ApiError(response.status, describeDetail(body, response.statusText || 'request failed'));
}

const enc = encodeURIComponent;

/** `start`/`end` query parameters of a zoomed request (absent: the whole run). */
function rangeParams(range: StepRange | null | undefined): Record<string, QueryValue> {
  return range ? { start: range.start, end: range.end } : {};
}

/** The live event stream of a run (server-sent events, read with EventSource). */
export function streamUrl(id: string): string {
  return apiUrl(`/runs/${enc(id)}/stream`);
}

export const api = {
  listRuns: (params: RunListParams, signal?: AbortSignal) =>
    getJson('/runs', { ...params }, signal) as Promise<RunPage>,

  getRun: (id: string, signal?: AbortSignal) => getJson(`/runs/${enc(id)}`, {}, signal) as Promise<Run>,

  listKeys: (id: string, signal?: AbortSignal) =>
    getJson(`/runs/${enc(id)}/keys`, {}, signal) as Promise<ItemList<string>>,

  /** Keys contain '/', so the comma-joined list is URL-encoded by URLSearchParams. */
  getSeries: async (
    id: string,
    keys: readonly string[],
    points: number,
    range: StepRange | null,
    signal?: AbortSignal,
  ): Promise<SeriesResponse> =>
    parseSeriesResponse(
      await getJson(`/runs/${enc(id)}/series`, { keys: keys.join(','), points, ...rangeParams(range) }, signal),
    ),

  /** Layers × step buckets of one per-layer family (`grad_norm/`), aggregated by `agg`. */
  getMatrix: async (
    id: string,
    family: string,
    points: number,
    range: StepRange | null,
    agg: string,
    signal?: AbortSignal,
  ): Promise<MatrixResponse> =>
    parseMatrixResponse(
      await getJson(`/runs/${enc(id)}/matrix`, { family, points, agg, ...rangeParams(range) }, signal),
    ),

  /** The same keys across several runs, in one request. */
  getCompare: async (
    runIds: readonly string[],
    keys: readonly string[],
    points: number,
    signal?: AbortSignal,
  ): Promise<CompareResponse> =>
    parseCompareResponse(await getJson('/compare', { runs: runIds.join(','), keys: keys.join(','), points }, signal)),

  getAdvisor: (id: string, signal?: AbortSignal) =>
    getJson(`/runs/${enc(id)}/advisor`, {}, signal) as Promise<AdvisorResponse>,

  listDiagnoses: (id: string, signal?: AbortSignal) =>
    getJson(`/runs/${enc(id)}/diagnoses`, {}, signal) as Promise<ItemList<Diagnosis>>,

  me: (signal?: AbortSignal) => getJson('/auth/me', {}, signal) as Promise<Me>,

  login: (username: string, password: string) => postJson('/auth/login', { username, password }),

  logout: () => postJson('/auth/logout'),
};
