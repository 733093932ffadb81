// Decoding of API payloads whose numbers may be non-finite.
// JSON has no NaN, so the server spells non-finite values "NaN", "Infinity" and
// "-Infinity" wherever a number may appear. They are evidence (a NaN loss is the
// story of a run), so they are restored to real numbers here, never dropped.

import type { CompareResponse, MatrixResponse, SeriesEntry, SeriesResponse } from './types';

export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

const NON_FINITE: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/**
 * A wire number: a JSON number, null, or one of the three non-finite spellings.
 * Anything else breaks the contract and throws, naming where it was found.
 */
export function decodeNumber(value: unknown, where = 'value'): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value in NON_FINITE) return NON_FINITE[value] as number;
  throw new PayloadError(`${where}: expected a number, null, "NaN" or "±Infinity", got ${JSON.stringify(value)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberArray(entry: Record<string, unknown>, field: string, key: string): (number | null)[] {
  const raw = entry[field];
  if (!Array.isArray(raw)) throw new PayloadError(`series "${key}": "${field}" is not an array`);
  return raw.map((v, i) => decodeNumber(v, `series "${key}" ${field}[${i}]`));
}

/** Counts: null or non-finite would be meaningless, so they read as 0. */
function countArray(entry: Record<string, unknown>, field: string, key: string): number[] {
  return numberArray(entry, field, key).map((v) => (v !== null && Number.isFinite(v) ? v : 0));
}

export function parseSeriesEntry(value: unknown): SeriesEntry {
  if (!isRecord(value) || typeof value.key !== 'string') {
    throw new PayloadError('series entry without a string "key"');
  }
  const key = value.key;
  const step = numberArray(value, 'step', key).map((s, i) => {
    if (s === null || !Number.isFinite(s)) throw new PayloadError(`series "${key}" step[${i}] is not a finite number`);
    return s;
  });
  const entry: SeriesEntry = {
    key,
    raw: value.raw === true,
    step,
    min: numberArray(value, 'min', key),
    max: numberArray(value, 'max', key),
    mean: numberArray(value, 'mean', key),
    last: numberArray(value, 'last', key),
    count: countArray(value, 'count', key),
    nonfinite: countArray(value, 'nonfinite', key),
  };
  for (const field of ['min', 'max', 'mean', 'last', 'count', 'nonfinite'] as const) {
    if (entry[field].length !== step.length) {
      throw new PayloadError(
        `series "${key}": "${field}" has ${entry[field].length} buckets, "step" has ${step.length}`,
      );
    }
  }
  return entry;
}

export function parseSeriesResponse(value: unknown): SeriesResponse {
  if (!isRecord(value) || !Array.isArray(value.series)) {
    throw new PayloadError('series response without a "series" array');
  }
  return {
    run_id: typeof value.run_id === 'string' ? value.run_id : '',
    series: value.series.map(parseSeriesEntry),
  };
}

function stringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new PayloadError(`${what} is not an array of strings`);
  }
  return value as string[];
}

/**
 * A heatmap matrix: `values[i]` is layer `i`'s row, aligned with `step`. Rows are decoded
 * like series values (non-finite strings → numbers, null stays an empty cell).
 */
export function parseMatrixResponse(value: unknown): MatrixResponse {
  if (!isRecord(value)) throw new PayloadError('matrix response is not an object');
  const layers = stringArray(value.layers, 'matrix "layers"');
  if (!Array.isArray(value.step)) throw new PayloadError('matrix "step" is not an array');
  const step = value.step.map((s, i) => {
    const n = decodeNumber(s, `matrix step[${i}]`);
    if (n === null || !Number.isFinite(n)) throw new PayloadError(`matrix step[${i}] is not a finite number`);
    return n;
  });
  if (!Array.isArray(value.values) || value.values.length !== layers.length) {
    throw new PayloadError(`matrix "values" must hold one row per layer (${layers.length})`);
  }
  const values = value.values.map((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== step.length) {
      throw new PayloadError(`matrix row ${i} (${layers[i]}) must hold ${step.length} values`);
    }
    return row.map((v: unknown, j) => decodeNumber(v, `matrix ${layers[i]}[${j}]`));
  });
  return { family: typeof value.family === 'string' ? value.family : '', layers, step, values };
}

/** `GET /compare`: each run's series entries, decoded like `GET /series`. */
export function parseCompareResponse(value: unknown): CompareResponse {
  if (!isRecord(value) || !Array.isArray(value.runs)) {
    throw new PayloadError('compare response without a "runs" array');
  }
  return {
    runs: value.runs.map((run: unknown, i) => {
      if (!isRecord(run) || typeof run.run_id !== 'string' || !Array.isArray(run.series)) {
        throw new PayloadError(`compare runs[${i}] needs a string "run_id" and a "series" array`);
      }
      return { run_id: run.run_id, series: run.series.map(parseSeriesEntry) };
    }),
  };
}
