"""A real training run becomes a chart in a real browser."""

from __future__ import annotations

from pathlib import Path

import torch
from playwright.sync_api import Browser, expect

import gradsight
from tests.support.api import wait_finished
from tests.support.procs import Server, wait_until
from tests.support.training import mlp, train


def test_a_live_run_appears_and_its_charts_draw_and_grow(
    dashboard_server: Server, browser: Browser, test_output: Path
) -> None:
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    run = gradsight.init(project="e2e", name="live-run", server=dashboard_server.url, config={"lr": 3e-3})
    run.watch(model, opt)
    train(run, model, opt, 60)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(dashboard_server.url + "/")
    row = page.locator(f'[data-testid="run-row"][data-run-id="{run.id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("live-run")
    page.screenshot(path=str(test_output / "runs-list.png"), full_page=True)

    row.click()
    expect(page).to_have_url(f"{dashboard_server.url}/runs/{run.id}")
    loss_chart = page.locator('[data-testid="chart-loss"]')
    grad_chart = page.locator('[data-testid="chart-grad_norm"]')
    expect(loss_chart.locator("canvas")).to_be_visible(timeout=15_000)
    expect(grad_chart.locator("canvas")).to_be_visible()

    def points(locator: object) -> int:
        value = locator.get_attribute("data-points")  # type: ignore[attr-defined]
        return int(value) if value else 0

    wait_until(lambda: points(loss_chart) >= 55, 15, "the loss chart to draw the first steps")
    wait_until(lambda: points(grad_chart) >= 55, 15, "the grad-norm chart to draw")
    first = points(loss_chart)
    page.screenshot(path=str(test_output / "run-page-live.png"), full_page=True)

    # The run is still live: more steps appear without a reload, pushed by the run's event
    # stream (polling is only the fallback while the stream is down).
    expect(page.get_by_test_id("live-mode")).to_have_attribute("data-streaming", "true", timeout=15_000)
    train(run, model, opt, 60)
    wait_until(lambda: points(loss_chart) >= first + 50, 20, "new steps to appear without reload")
    run.finish()
    wait_finished(dashboard_server.url, run.id)
    expect(page.locator('[data-testid="run-last-step"]')).to_contain_text("119", timeout=15_000)
    # The header and the series are separate requests: the chart converges a moment later.
    wait_until(lambda: points(loss_chart) == 120, 15, "the finished run's last steps to be drawn")
    page.screenshot(path=str(test_output / "run-page-finished.png"), full_page=True)
    assert errors == [], errors
    page.close()


def test_unknown_run_and_route_show_designed_states(
    dashboard_server: Server, browser: Browser, test_output: Path
) -> None:
    page = browser.new_page()
    page.goto(dashboard_server.url + "/runs/does-not-exist")
    expect(page.get_by_text("not found", exact=False).first).to_be_visible(timeout=10_000)
    page.screenshot(path=str(test_output / "missing-run.png"))
    page.goto(dashboard_server.url + "/no/such/page")
    expect(page.get_by_text("not found", exact=False).first).to_be_visible(timeout=10_000)
    page.close()
