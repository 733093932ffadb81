import type { Run } from '../api/types';
import { formatDuration, formatInteger, formatRelative, formatTimestamp } from '../format';
import { runDurationSeconds } from '../runTiming';
import { HealthCounts } from './HealthCounts';
import { KeyValues } from './KeyValues';
import { StatusBadge } from './StatusBadge';

export function RunHeader({ run, now }: { run: Run; now: number }) {
  return (
    <header className="run-header">
      <div className="run-title">
        <h1>{run.name || run.id}</h1>
        <StatusBadge status={run.status} />
        <HealthCounts health={run.health} />
      </div>
      <dl className="facts">
        <div>
          <dt>Project</dt>
          <dd>{run.project}</dd>
        </div>
        <div>
          <dt>Last step</dt>
          <dd className="num" data-testid="run-last-step">
            {formatInteger(run.last_step)}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd title={formatTimestamp(run.created_at)}>
            {formatTimestamp(run.created_at)} <span className="muted">({formatRelative(run.created_at, now)})</span>
          </dd>
        </div>
        <div>
          <dt>{run.status === 'running' ? 'Running for' : 'Duration'}</dt>
          <dd className="num">{formatDuration(runDurationSeconds(run, now))}</dd>
        </div>
        <div>
          <dt>Run id</dt>
          <dd className="mono">{run.id}</dd>
        </div>
      </dl>
      <div className="config">
        <span className="config-label">Config</span>
        <KeyValues values={run.config} emptyText="no config recorded" />
      </div>
      <details className="metadata">
        <summary>Metadata</summary>
        <KeyValues values={run.metadata} emptyText="no metadata recorded" />
      </details>
    </header>
  );
}
