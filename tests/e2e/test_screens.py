"""Every dashboard screen in real Chromium, against a real embedded server fed by a real
training with an injected instability (the learning rate jumps 500× at step 900): the run
appears in the list, the charts draw with the diagnosis marked, zoom asks the server for a
finer resolution, the heatmap draws and clicks through, the diagnosis shows its evidence and
its recommendation, the advisor answers, and two runs overlay in the compare view.
Screenshots of each screen are saved under test-output/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import torch
from playwright.sync_api import Browser, BrowserContext, Page, expect

import gradsight
from tests.support.api import wait_finished
from tests.support.procs import Server, wait_until
from tests.support.training import mlp, train, unstable

VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Runs:
    unstable: str
    healthy: str


def _diagnosed(url: str, run_id: str) -> bool:
    items = httpx.get(f"{url}/api/v1/runs/{run_id}/diagnoses", timeout=10).json()["items"]
    return any(d["rule"] == "divergence" and d["severity"] == "critical" for d in items)


@pytest.fixture(scope="module")
def runs(dashboard_server: Server) -> Runs:
    bad = gradsight.init(
        project="e2e-screens", name="lr-jump", server=dashboard_server.url, config={"lr": 1e-3}
    )
    unstable(bad)
    bad.finish()
    model = mlp(1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    good = gradsight.init(project="e2e-screens", name="healthy", server=dashboard_server.url)
    good.watch(model, opt)
    train(good, model, opt, 300)
    good.finish()
    for run_id in (bad.id, good.id):
        wait_finished(dashboard_server.url, run_id)
    wait_until(lambda: _diagnosed(dashboard_server.url, bad.id), 60, "the divergence diagnosis")
    return Runs(bad.id, good.id)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT, permissions=["clipboard-read", "clipboard-write"])
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    yield page
    assert errors == [], errors


def attr(page: Page, selector: str, name: str) -> str:
    return page.locator(selector).first.get_attribute(name) or ""


def test_the_runs_list_filters_by_health_and_draws_sparklines(
    dashboard_server: Server, runs: Runs, page: Page, test_output: Path
) -> None:
    page.goto(dashboard_server.url + "/?project=e2e-screens")
    bad = page.locator(f'[data-testid="run-row"][data-run-id="{runs.unstable}"]')
    good = page.locator(f'[data-testid="run-row"][data-run-id="{runs.healthy}"]')
    expect(bad).to_be_visible(timeout=TIMEOUT_MS)
    expect(good).to_be_visible()
    expect(bad.locator(".pill-critical")).not_to_have_text("0")
    # Sparklines of the loss come from one compare request for the visible runs.
    expect(bad.locator('[data-testid="sparkline"]')).to_have_attribute(
        "data-points", re.compile(r"^[1-9]\d*$")
    )
    page.screenshot(path=str(test_output / "runs-list.png"), full_page=True)

    page.get_by_label("Health", exact=True).select_option("critical")
    expect(good).to_be_hidden()
    expect(bad).to_be_visible()
    assert parse_qs(urlparse(page.url).query)["health"] == ["critical"]  # the filter is in the link


def test_the_run_page_charts_draw_mark_the_diagnosis_and_zoom_refines(
    dashboard_server: Server, runs: Runs, page: Page, test_output: Path
) -> None:
    page.goto(f"{dashboard_server.url}/runs/{runs.unstable}")
    loss = page.locator('[data-testid="chart-loss"]')
    for key in ("loss", "grad_norm", "lr", "update_ratio"):
        expect(page.locator(f'[data-testid="chart-{key}"]')).to_have_attribute(
            "data-points", re.compile(r"^[1-9]\d*$"), timeout=TIMEOUT_MS
        )
    # 1,200 steps in a ~600 px panel: the whole run comes back in buckets, with the
    # divergence drawn on the loss chart and summarised above the tabs.
    expect(loss).to_have_attribute("data-raw", "false")
    expect(loss).to_have_attribute("data-marks", re.compile(r"^[1-9]"))
    expect(page.get_by_test_id("health-summary")).to_contain_text("divergence")
    page.screenshot(path=str(test_output / "run-charts.png"), full_page=True)

    over = loss.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    with page.expect_response(
        lambda r: "/series" in r.url and "start=" in r.url and "keys=loss" in r.url
    ) as zoomed:
        page.mouse.move(box["x"] + box["width"] * 0.55, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=6)
        page.mouse.up()
    query = parse_qs(urlparse(zoomed.value.url).query)
    start, end = int(query["start"][0]), int(query["end"][0])
    assert 500 < start < end < 1000, (start, end)
    body: dict[str, Any] = zoomed.value.json()
    entry = next(s for s in body["series"] if s["key"] == "loss")
    assert entry["raw"] is True and all(start <= s < end for s in entry["step"])  # finer: one point per step
    expect(loss).to_have_attribute("data-raw", "true", timeout=TIMEOUT_MS)
    expect(loss).to_have_attribute("data-first-step", str(entry["step"][0]))
    assert f"from={start}" in page.url and f"to={end}" in page.url
    page.screenshot(path=str(test_output / "run-charts-zoomed.png"), full_page=True)

    # The link reproduces the view: a fresh page at this URL loads the same range.
    fresh = page.context.new_page()
    fresh.goto(page.url)
    expect(fresh.get_by_test_id("chart-grid")).to_have_attribute(
        "data-loaded-range", f"{start}:{end}", timeout=TIMEOUT_MS
    )
    expect(fresh.locator('[data-testid="chart-loss"]')).to_have_attribute("data-raw", "true")
    fresh.close()

    over.dblclick()
    expect(loss).to_have_attribute("data-raw", "false", timeout=TIMEOUT_MS)
    assert "from=" not in page.url


def test_the_layers_heatmap_draws_and_clicks_through_to_a_layer(
    dashboard_server: Server, runs: Runs, page: Page, test_output: Path
) -> None:
    page.goto(f"{dashboard_server.url}/runs/{runs.unstable}?tab=layers")
    heatmap = page.get_by_test_id("heatmap")
    expect(heatmap).to_have_attribute("data-draws", re.compile(r"^[1-9]"), timeout=TIMEOUT_MS)
    layers = int(heatmap.get_attribute("data-layers") or 0)
    assert layers == 6  # three Linear layers: weight and bias each
    assert int(heatmap.get_attribute("data-buckets") or 0) > 100
    expect(page.get_by_test_id("layer-table").locator("tbody tr")).to_have_count(layers)

    canvas = page.locator(".heatmap-canvas")
    box = canvas.bounding_box()
    assert box is not None
    # Hover the first layer's row at the step where the learning rate jumped.
    at = (box["x"] + box["width"] * 0.76, box["y"] + box["height"] / layers / 2)
    page.mouse.move(*at)
    tip = page.get_by_test_id("heatmap-tip")
    expect(tip).to_be_visible()
    first = page.get_by_test_id("layer-table").locator("tbody tr").first.get_attribute("data-layer")
    expect(tip.locator(".heatmap-tip-layer")).to_have_text(first or "")  # rows in model order
    expect(tip).to_contain_text("steps")
    page.screenshot(path=str(test_output / "run-layers.png"), full_page=True)

    page.get_by_role("button", name="Update ratio").click()
    expect(heatmap).to_have_attribute("data-family", "update_ratio/", timeout=TIMEOUT_MS)
    expect(heatmap).to_have_attribute("data-layers", str(layers))
    expect(page).to_have_url(re.compile(r"family=update_ratio(%2F|/)"))
    expect(heatmap).to_have_attribute("data-draws", re.compile(r"^[1-9]"))

    page.mouse.click(*at)  # click-through: that layer's series, in the charts tab
    panel = page.locator(f'[data-testid="chart-update_ratio/{first}"]')
    expect(panel).to_have_attribute("data-points", re.compile(r"^[1-9]"), timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"keys=update_ratio(%2F|/)"))


def test_the_diagnosis_shows_evidence_and_a_copyable_recommendation(
    dashboard_server: Server, runs: Runs, page: Page, test_output: Path
) -> None:
    page.goto(f"{dashboard_server.url}/runs/{runs.unstable}")
    page.get_by_test_id("tab-diagnoses").click()
    card = page.locator('[data-testid="diagnosis"][data-rule="divergence"]')
    expect(card).to_be_visible(timeout=TIMEOUT_MS)
    expect(card).to_have_attribute("data-severity", "critical")
    expect(card).to_contain_text("The loss climbed back")
    # Evidence: the loss around the diagnosis, and the statistic against its threshold.
    expect(card.locator('[data-testid="chart-loss"]')).to_have_attribute(
        "data-points", re.compile(r"^[1-9]"), timeout=TIMEOUT_MS
    )
    expect(card.get_by_test_id("threshold").first).to_contain_text("progress lost")
    expect(card.get_by_test_id("threshold").first).to_contain_text("threshold")
    rec = card.get_by_test_id("recommendation").filter(has_text="Cap the learning-rate schedule")
    expect(rec).to_be_visible()
    expect(rec.get_by_test_id("rec-code")).to_have_text("lr = peak_lr * min(1.0, (step + 1) / warmup_steps)")
    rec.get_by_test_id("copy-code").click()
    expect(rec.get_by_test_id("copy-code")).to_have_text("copied")
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == "lr = peak_lr * min(1.0, (step + 1) / warmup_steps)"
    )
    assert "tab=diagnoses" in page.url
    page.screenshot(path=str(test_output / "run-diagnoses.png"), full_page=True)

    page.get_by_test_id("tab-advisor").click()
    advisor = page.get_by_test_id("advisor")
    expect(advisor).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("advisor-peak-lr")).to_contain_text("0.5")  # the jumped learning rate
    page.screenshot(path=str(test_output / "run-advisor.png"), full_page=True)


def test_two_runs_overlay_in_the_compare_view(
    dashboard_server: Server, runs: Runs, page: Page, test_output: Path
) -> None:
    page.goto(dashboard_server.url + "/?project=e2e-screens")
    for run_id in (runs.unstable, runs.healthy):
        row = page.locator(f'[data-testid="run-row"][data-run-id="{run_id}"]')
        expect(row).to_be_visible(timeout=TIMEOUT_MS)
        row.get_by_test_id("run-select").check()
    page.get_by_test_id("compare-selected").click()
    expect(page).to_have_url(re.compile(r"/compare\?runs="))
    chart = page.get_by_test_id("compare-loss")
    expect(chart).to_have_attribute("data-lines", "2", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="grad_norm", exact=True).click()
    expect(page.get_by_test_id("compare-grad_norm")).to_have_attribute("data-lines", "2", timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"keys=loss(%2C|,)grad_norm"))
    page.screenshot(path=str(test_output / "compare.png"), full_page=True)
