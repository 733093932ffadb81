import { describe, expect, it } from 'vitest';
import { apiUrl, csrfToken, streamUrl } from './client';
import { queryKeys } from './queries';

describe('apiUrl', () => {
  it('URL-encodes comma-joined keys that contain slashes', () => {
    const url = apiUrl('/runs/r1/series', { keys: ['loss', 'time/step_s'].join(','), points: 800 });
    expect(url).toBe('/api/v1/runs/r1/series?keys=loss%2Ctime%2Fstep_s&points=800');
    const params = new URL(url, 'http://x').searchParams;
    expect(params.get('keys')?.split(',')).toEqual(['loss', 'time/step_s']);
  });

  it('names the event stream of a run', () => {
    expect(streamUrl('a b')).toBe('/api/v1/runs/a%20b/stream');
  });

  it('leaves out empty and missing parameters', () => {
    expect(apiUrl('/runs', { q: '', status: undefined, project: null, limit: 50 })).toBe('/api/v1/runs?limit=50');
    expect(apiUrl('/runs')).toBe('/api/v1/runs');
  });
});

describe('queryKeys', () => {
  it('nests a run’s keys, series and diagnoses under the run, for one-call invalidation', () => {
    const run = queryKeys.run('r1');
    for (const key of [
      queryKeys.keys('r1'),
      queryKeys.series('r1', ['loss'], 800),
      queryKeys.diagnoses('r1'),
      queryKeys.matrix('r1', 'grad_norm/', 800, null, 'max'),
      queryKeys.advisor('r1'),
    ]) {
      expect(key.slice(0, run.length)).toEqual(run);
    }
    expect(queryKeys.series('r1', ['a', 'b'], 800)).not.toEqual(queryKeys.series('r1', ['a', 'b'], 1000));
    expect(queryKeys.runList({ q: 'x' }).slice(0, 2)).toEqual(queryKeys.runLists());
    // A zoom is a different query: the wide view stays cached for the way back.
    expect(queryKeys.series('r1', ['a'], 800, { start: 0, end: 10 })).not.toEqual(queryKeys.series('r1', ['a'], 800));
  });
});

describe('csrfToken', () => {
  it('reads the CSRF cookie among others', () => {
    expect(csrfToken('a=1; gradsight_csrf=abc%3D; gradsight_session=x')).toBe('abc=');
    expect(csrfToken('a=1')).toBe('');
  });
});
