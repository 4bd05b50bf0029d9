"""`make airflow` as an operator meets it: the DAG listed, a run triggered from the UI succeeds,
and the graph shows the night's tasks."""

from __future__ import annotations


def test_dag_is_listed(airflow_page, airflow_ui, screenshots):
    page = airflow_page
    page.goto(f"{airflow_ui.url}/dags")
    link = page.get_by_role("link", name="send_nightly").first
    link.wait_for(timeout=120_000)
    if screenshots:
        page.screenshot(path=screenshots / "airflow-dags.png")


def test_triggered_run_succeeds(triggered_night, airflow_page):
    assert triggered_night == "success", "the run failed: see the task logs in the Airflow UI"


def test_graph_shows_the_tasks(triggered_night, airflow_page, airflow_ui, screenshots):
    page = airflow_page
    page.goto(f"{airflow_ui.url}/dags/send_nightly")
    page.get_by_role("button", name="Show Graph").first.click()
    graph = page.locator(".react-flow")
    graph.wait_for(timeout=30_000)
    for task in ("start", "casework", "education", "socialcare", "transform", "report", "finish"):
        assert graph.get_by_text(task, exact=True).first.is_visible(), task
    if screenshots:
        page.screenshot(path=screenshots / "airflow-graph.png")
