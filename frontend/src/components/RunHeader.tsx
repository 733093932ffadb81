import type { Run } from '../api/types';
import { formatDuration, formatInteger, formatNumber, formatRelative, formatTimestamp } from '../format';
import type { Throughput } from '../pages/run/useThroughput';
import { runDurationSeconds } from '../runTiming';
import { HealthCounts } from './HealthCounts';
import { KeyValues } from './KeyValues';
import { StatusBadge } from './StatusBadge';

export interface RunHeaderProps {
  run: Run;
  now: number;
  throughput?: Throughput | null;
  /** The live event stream is connected (updates arrive as they happen). */
  streaming?: boolean;
}

export function RunHeader({ run, now, throughput, streaming = false }: RunHeaderProps) {
  return (
    <header className="run-header">
      <div className="run-title">
        <h1>{run.name || run.id}</h1>
        <StatusBadge status={run.status} />
        <HealthCounts health={run.health} />
        {run.status === 'running' && (
          <span
            className={`live-note ${streaming ? 'is-streaming' : ''}`}
            data-testid="live-mode"
            data-streaming={streaming}
            title={streaming ? 'Updates arrive on the live event stream' : 'Event stream unavailable: polling every 2 s'}
          >
            {streaming ? 'live' : 'polling'}
          </span>
        )}
      </div>
      <dl className="facts">
        <div>
          <dt>Project</dt>
          <dd>{run.project}</dd>
        </div>
        <div>
          <dt>Step</dt>
          <dd className="num" data-testid="run-last-step">
            {formatInteger(run.last_step)}
          </dd>
        </div>
        <div>
          <dt>Throughput</dt>
          <dd className="num" data-testid="run-throughput" title={throughput ? `mean over steps ${formatInteger(throughput.from)}–${formatInteger(run.last_step)}` : 'the run logs no throughput'}>
            {throughput ? (
              <>
                {formatNumber(throughput.value, 3)} <span className="muted">{throughput.unit}</span>
              </>
            ) : (
              '—'
            )}
          </dd>
        </div>
        <div>
          <dt>{run.status === 'running' ? 'Running for' : 'Duration'}</dt>
          <dd className="num">{formatDuration(runDurationSeconds(run, now))}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd title={formatTimestamp(run.created_at)}>
            {formatTimestamp(run.created_at)} <span className="muted">({formatRelative(run.created_at, now)})</span>
          </dd>
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
