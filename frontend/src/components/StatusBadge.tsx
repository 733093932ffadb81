import type { RunStatus } from '../api/types';

const LABELS: Record<RunStatus, string> = {
  running: 'Running',
  finished: 'Finished',
  crashed: 'Crashed',
};

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`status status-${status}`} data-status={status}>
      {status === 'running' && <span className="status-dot" aria-hidden="true" />}
      {LABELS[status] ?? status}
    </span>
  );
}
