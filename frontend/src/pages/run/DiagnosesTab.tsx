// Every diagnosis of the run: what was found (summary, severity, status, steps), the
// evidence (an evidence chart zoomed to its steps, each statistic against its threshold),
// and the ranked recommendations with their numbers, code and references.

import { useMemo, useState } from 'react';
import { useRunSeries } from '../../api/queries';
import type { Diagnosis, Run, StepRange } from '../../api/types';
import { lineValues } from '../../charts/align';
import { evidenceKey, marksForKey } from '../../charts/marks';
import { prefersLog } from '../../charts/sparkline';
import type { ChartTheme } from '../../charts/theme';
import { EvidenceBlock } from '../../components/EvidenceBlock';
import { MetricPanel } from '../../components/MetricPanel';
import { RecommendationList } from '../../components/RecommendationList';
import { EmptyState, ErrorState, Loading } from '../../components/StateMessage';
import { evidenceRange } from '../../evidence';
import { formatInteger } from '../../format';
import type { TabProps } from './types';

const RANK = { critical: 0, warning: 1, info: 2 } as const;
const EVIDENCE_POINTS = 600;
const LOG_SPAN = 1000;

/** Open before resolved, then by severity, then the most recent first. */
export function orderDiagnoses(items: readonly Diagnosis[]): Diagnosis[] {
  return [...items].sort(
    (a, b) =>
      (a.status === 'open' ? 0 : 1) - (b.status === 'open' ? 0 : 1) ||
      RANK[a.severity] - RANK[b.severity] ||
      b.last_step - a.last_step,
  );
}

interface CardProps {
  runId: string;
  diagnosis: Diagnosis;
  keys: readonly string[];
  run: Run;
  theme: ChartTheme;
  onOpenCharts: (key: string, range: StepRange) => void;
}

function EvidenceChart({ runId, diagnosis, keys, run, theme, onOpenCharts }: CardProps) {
  const key = evidenceKey(diagnosis, keys);
  const range = evidenceRange(diagnosis.first_step, diagnosis.last_step, run.last_step);
  const series = useRunSeries(runId, key ? [key] : [], EVIDENCE_POINTS, range, false, key !== null);
  const marks = useMemo(() => (key ? marksForKey([diagnosis], key) : []), [diagnosis, key]);
  const entry = series.data?.series[0];
  // A spike of 1e6 over a loss of 0.01 flattens a linear axis: spans over 3 decades start on log.
  const [logChoice, setLog] = useState<boolean | null>(null);
  const log = logChoice ?? (entry ? prefersLog(lineValues(entry), LOG_SPAN) : false);
  if (!key) return <div className="muted evidence-nochart">No charted signal for this diagnosis.</div>;
  return (
    <div className="evidence-chart">
      <MetricPanel
        metricKey={key}
        title={`${key} · steps ${formatInteger(range.start)}–${formatInteger(range.end - 1)}`}
        entry={entry}
        loading={series.isPending}
        log={log}
        onToggleLog={() => setLog(!log)}
        marks={marks}
        xRange={range}
        theme={theme}
        height={150}
      />
      <button type="button" className="link-button" onClick={() => onOpenCharts(key, range)}>
        open in charts →
      </button>
    </div>
  );
}

function DiagnosisCard(props: CardProps) {
  const d = props.diagnosis;
  return (
    <article
      className={`diag-card diagnosis-${d.severity}${d.status === 'resolved' ? ' is-resolved' : ''}`}
      data-testid="diagnosis"
      data-rule={d.rule}
      data-severity={d.severity}
      data-status={d.status}
    >
      <header className="diag-head">
        <span className={`pill pill-${d.severity}`}>{d.severity}</span>
        <h2 className="diag-rule mono">{d.rule}</h2>
        <span className={`diag-status status-${d.status === 'open' ? 'open' : 'resolved'}`}>{d.status}</span>
        <span className="muted num">
          steps {formatInteger(d.first_step)}–{formatInteger(d.last_step)}
        </span>
      </header>
      <p className="diag-summary">{d.summary}</p>
      <div className="diag-body">
        <section className="diag-evidence" aria-label="Evidence">
          <h3 className="section-title">Evidence</h3>
          <EvidenceChart {...props} />
          <EvidenceBlock evidence={d.evidence} />
        </section>
        <section className="diag-recs" aria-label="Recommendations">
          <h3 className="section-title">What to change</h3>
          <RecommendationList items={d.recommendations} />
        </section>
      </div>
    </article>
  );
}

export function DiagnosesTab({
  id,
  keys,
  updateView,
  theme,
  run,
  diagnoses,
  diagnosesError,
}: TabProps & { run: Run; diagnoses: readonly Diagnosis[] | undefined; diagnosesError: unknown }) {
  const [showResolved, setShowResolved] = useState(true);
  const ordered = useMemo(() => orderDiagnoses(diagnoses ?? []), [diagnoses]);
  const shown = showResolved ? ordered : ordered.filter((d) => d.status === 'open');
  const openCharts = (key: string, range: StepRange) =>
    updateView({ tab: 'charts', keys: [key], range });

  if (diagnoses === undefined) {
    return diagnosesError ? <ErrorState title="Could not load diagnoses" error={diagnosesError} /> : <Loading label="Loading diagnoses…" />;
  }
  if (ordered.length === 0) {
    return (
      <EmptyState title="No diagnoses">
        The rules have found nothing worth a look in this run{run.status === 'running' ? ' so far' : ''}. They re-run as
        data arrives.
      </EmptyState>
    );
  }
  const resolved = ordered.length - ordered.filter((d) => d.status === 'open').length;
  return (
    <div className="diagnoses-tab">
      <div className="tab-toolbar">
        <span className="muted">
          {ordered.length - resolved} open · {resolved} resolved
        </span>
        {resolved > 0 && (
          <label className="checkbox">
            <input type="checkbox" checked={showResolved} onChange={(e) => setShowResolved(e.target.checked)} /> show resolved
          </label>
        )}
      </div>
      {shown.map((d) => (
        <DiagnosisCard key={d.id} runId={id} diagnosis={d} keys={keys ?? []} run={run} theme={theme} onOpenCharts={openCharts} />
      ))}
    </div>
  );
}
