"""`make airflow` as an operator meets it: the DAG listed, a run triggered from the UI succeeds,
and the graph shows the night's tasks."""

from __future__ import annotations

import time

from playwright.sync_api import TimeoutError as PlaywrightTimeout


def test_dag_is_listed(airflow_page, airflow_ui, screenshots):
    page = airflow_page
    deadline = time.monotonic() + 120
    while True:  # the list does not refresh by itself, and the DAG processor may still be parsing
        link = page.get_by_role("link", name="send_nightly", exact=True)
        try:
            page.goto(f"{airflow_ui.url}/dags", wait_until="domcontentloaded", timeout=60_000)
            link.first.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            pass
        if time.monotonic() > deadline:
            page.screenshot(path=airflow_ui.home / "dags-not-listed.png")
            raise AssertionError(f"send_nightly is not listed 2 minutes after Airflow came up ({page.url}): "
                                 f"{page.locator('body').inner_text()[:500]!r}")
    assert link.first.get_attribute("href") == "/dags/send_nightly"
    if screenshots:
        page.screenshot(path=screenshots / "airflow-dags.png")


def test_triggered_run_succeeds(triggered_night, airflow_page):
    assert triggered_night == "success", "the run failed: see the task logs in the Airflow UI"


def test_graph_shows_the_tasks(triggered_night, airflow_page, airflow_ui, screenshots):
    page = airflow_page
    page.goto(f"{airflow_ui.url}/dags/send_nightly", timeout=60_000)
    page.get_by_role("button", name="Show Graph").first.click()
    graph = page.locator(".react-flow")
    graph.wait_for(timeout=30_000)
    for task in ("start", "casework", "education", "socialcare", "transform", "report", "finish"):
        # wait_for fails the test if the node never shows (React Flow draws them after the frame).
        graph.get_by_text(task, exact=True).first.wait_for(state="visible")
    if screenshots:
        page.screenshot(path=screenshots / "airflow-graph.png")
