"""Around each batch a Celery worker applies: a live-update notice over Redis pub/sub that the
API turns into server-sent events, a debounced request for diagnosis of the run, and (asked
for by the API's maintenance sweep) the compaction of what was applied."""

from __future__ import annotations

import httpx

from tests.integration.conftest import created_on_server, new_run, train_paced
from tests.support.api import wait_finished
from tests.support.procs import wait_until
from tests.support.sse import EventStream
from tests.support.stack import Stack, connect


def diagnosis_state(stack: Stack, run_id: str) -> tuple[int, int | None]:
    with connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT d.passes, d.last_step FROM diagnosis_state d JOIN runs r ON r.pk = d.run_pk WHERE r.id = %s",
            (run_id,),
        ).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)


def test_a_browser_follows_a_training_run_live_through_redis(services: Stack, fast_agent: None) -> None:
    run = new_run(services, "live")
    created_on_server(services, run)
    stream = EventStream(f"{services.url}/api/v1/runs/{run.id}/stream")
    assert stream.status == 200
    train_paced(run, 150)
    run.finish()
    last = wait_finished(services.url, run.id)["last_step"]
    events = stream.until(lambda e: e.name == "steps" and e.data["last_step"] == last, timeout=60)
    steps = [e.data["last_step"] for e in events if e.name == "steps"]
    assert len(steps) >= 3, "updates arrived while the run trained, not only at the end"
    assert steps == sorted(set(steps))


def test_diagnosis_is_requested_debounced_and_covers_the_last_batch(
    services: Stack, fast_agent: None
) -> None:
    """Batches every 0.2 s for ~4 s with a 1 s window (tests/support/stack.py): a few passes,
    far fewer than batches, and one after the last batch (issue 6 plugs the rules in here)."""
    run = new_run(services, "diagnosed")
    losses = train_paced(run, 150)
    run.finish()
    batches = run._sender.stats.batches_built
    last = max(losses)
    wait_until(
        lambda: diagnosis_state(services, run.id)[1] == last, 60, "a diagnosis pass over the last step"
    )
    passes, _ = diagnosis_state(services, run.id)
    assert 1 <= passes < batches / 2, (passes, batches)
    assert "diagnosis pass" in services.worker_log()


def segment_kinds(stack: Stack, run_id: str) -> dict[bool, int]:
    with connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT s.chunk, count(*) FROM segments s JOIN runs r ON r.pk = s.run_pk WHERE r.id = %s GROUP BY 1",
            (run_id,),
        ).fetchall()
    return {bool(chunk): int(n) for chunk, n in rows}


def test_workers_compact_what_they_applied(services: Stack, fast_agent: None) -> None:
    run = new_run(services, "compacted")
    losses = train_paced(run, 120)
    run.finish()
    wait_finished(services.url, run.id)
    wait_until(lambda: segment_kinds(services, run.id).get(False, 0) == 0, 60, "no fresh segment left")
    assert segment_kinds(services, run.id)[True] > 0
    assert "compaction of run" in services.worker_log()
    response = httpx.get(f"{services.url}/api/v1/runs/{run.id}/series", params={"keys": "loss"})
    (loss,) = response.json()["series"]
    assert loss["raw"] and loss["step"] == sorted(losses), "every step, once"
