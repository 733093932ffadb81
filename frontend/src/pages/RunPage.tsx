// One run: header, health summary, and four tabs (charts, layers, diagnoses, advisor).
// This page owns the run-wide queries and the view state (in the URL, viewState.ts);
// tabs own their own data queries and pass data down to panels that never fetch.
// A live run listens to its event stream; polling is the fallback while it is down.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError } from '../api/client';
import { isLive, queryKeys, useDiagnoses, useRun, useRunKeys } from '../api/queries';
import { HealthSummary } from '../components/HealthSummary';
import { RunHeader } from '../components/RunHeader';
import { EmptyState, ErrorState, Loading } from '../components/StateMessage';
import { Tabs } from '../components/Tabs';
import { useChartTheme } from '../hooks/useColorScheme';
import { useNow } from '../hooks/useNow';
import { useRunStream } from '../hooks/useRunStream';
import { useRunView } from '../hooks/useRunView';
import { TABS, type Tab } from '../viewState';
import { AdvisorTab } from './run/AdvisorTab';
import { ChartsTab } from './run/ChartsTab';
import { DiagnosesTab } from './run/DiagnosesTab';
import { LayersTab } from './run/LayersTab';
import { useThroughput } from './run/useThroughput';

const TAB_LABELS: Record<Tab, string> = {
  charts: 'Charts',
  layers: 'Layers',
  diagnoses: 'Diagnoses',
  advisor: 'Advisor',
};

/** When a live run stops, fetch everything once more so the last steps show. */
function useFinalRefresh(id: string, live: boolean) {
  const queryClient = useQueryClient();
  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && !live) void queryClient.invalidateQueries({ queryKey: queryKeys.run(id) });
    wasLive.current = live;
  }, [id, live, queryClient]);
}

export function RunPage() {
  const { id = '' } = useParams();
  const now = useNow();
  const theme = useChartTheme();
  const [view, updateView] = useRunView();
  const run = useRun(id);
  const live = isLive(run.data);
  const stream = useRunStream(id, live);
  const poll = live && !stream.connected;
  useFinalRefresh(id, live);

  const keys = useRunKeys(id, poll);
  const diagnoses = useDiagnoses(id, poll);
  const throughput = useThroughput(id, keys.data, run.data?.last_step ?? null, poll);

  if (run.isPending) return <Loading label="Loading run…" />;
  if (run.isError && !run.data) {
    const notFound = run.error instanceof ApiError && run.error.status === 404;
    return (
      <div className="page">
        {notFound ? (
          <EmptyState title="Run not found">
            No run has the id <code>{id}</code>. <Link to="/">Back to runs</Link>
          </EmptyState>
        ) : (
          <ErrorState title="Could not load this run" error={run.error}>
            <Link to="/">Back to runs</Link>
          </ErrorState>
        )}
      </div>
    );
  }

  const openCount = (diagnoses.data ?? []).filter((d) => d.status === 'open').length;
  const tabs = TABS.map((tab) => ({
    id: tab,
    label: TAB_LABELS[tab],
    badge: tab === 'diagnoses' && openCount > 0 ? openCount : undefined,
  }));
  const common = { id, live, poll, keys: keys.data, keysPending: keys.isPending, view, updateView, theme };

  return (
    <div className="page">
      <nav className="crumbs">
        <Link to="/">Runs</Link> <span aria-hidden="true">/</span>{' '}
        <Link to={`/?project=${encodeURIComponent(run.data.project)}`}>{run.data.project}</Link>
      </nav>
      <RunHeader run={run.data} now={now} throughput={throughput} streaming={stream.connected} />
      <HealthSummary diagnoses={diagnoses.data} onOpen={() => updateView({ tab: 'diagnoses' })} />
      {keys.isError && <ErrorState title="Could not load this run's metric names" error={keys.error} />}
      <Tabs tabs={tabs} active={view.tab} onSelect={(tab) => updateView({ tab })} label="Run views" />
      <div role="tabpanel" aria-label={TAB_LABELS[view.tab]} className="tab-panel">
        {view.tab === 'charts' && <ChartsTab {...common} diagnoses={diagnoses.data} />}
        {view.tab === 'layers' && <LayersTab {...common} run={run.data} />}
        {view.tab === 'diagnoses' && (
          <DiagnosesTab {...common} run={run.data} diagnoses={diagnoses.data} diagnosesError={diagnoses.error} />
        )}
        {view.tab === 'advisor' && <AdvisorTab id={id} />}
      </div>
    </div>
  );
}
