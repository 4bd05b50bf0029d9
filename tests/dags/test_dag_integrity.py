"""The DAG folder parses cleanly and the nightly DAG has the shape operators expect."""

from __future__ import annotations

import os

from airflow.dag_processing.dagbag import DagBag

EXPECTED_TASKS = {
    "start", "transform", "publish", "alerts", "report", "finish",
    "casework.preflight", "casework.land", "casework.validate",
    "education.preflight", "education.land", "education.validate",
    "socialcare.preflight", "socialcare.land", "socialcare.validate",
}


def load_bag() -> DagBag:
    return DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def test_no_import_errors():
    assert load_bag().import_errors == {}


def test_nightly_dag_shape():
    dag = load_bag().dags["send_nightly"]
    assert set(dag.task_dict) >= EXPECTED_TASKS
    assert dag.catchup is False
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timezone) in ("Europe/London", "Timezone('Europe/London')")
    for source in ("casework", "education", "socialcare"):
        land = dag.get_task(f"{source}.land")
        assert land.upstream_task_ids == {f"{source}.preflight"}
        assert dag.get_task(f"{source}.validate").upstream_task_ids == {f"{source}.land"}
        assert "transform" in dag.get_task(f"{source}.validate").downstream_task_ids
    assert dag.get_task("transform").trigger_rule == "all_done"
    assert dag.get_task("finish").trigger_rule == "all_done"
    # Publication comes after the build and always runs, to publish or to record why not.
    assert dag.get_task("publish").upstream_task_ids == {"transform"}
    assert dag.get_task("publish").trigger_rule == "all_done"
    # The digests describe the published night, whatever happened to it, and never hold the night's close up.
    assert dag.get_task("alerts").upstream_task_ids == {"publish"}
    assert dag.get_task("alerts").trigger_rule == "all_done"
    assert "finish" in dag.get_task("alerts").downstream_task_ids
    # So does the morning report, which never withholds anything either.
    assert dag.get_task("report").upstream_task_ids == {"publish"}
    assert dag.get_task("report").trigger_rule == "all_done"
    assert "finish" in dag.get_task("report").downstream_task_ids


def test_tasks_retry_with_backoff():
    dag = load_bag().dags["send_nightly"]
    land = dag.get_task("casework.land")
    assert land.retry_exponential_backoff
    assert land.max_retry_delay is not None


def test_dag_file_does_not_import_heavy_libraries_at_parse_time():
    import subprocess
    import sys

    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]); "
        "heavy = [m for m in ('great_expectations', 'dbt', 'pandas', 'sqlalchemy', 'psycopg') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    path = os.path.join(os.environ["AIRFLOW__CORE__DAGS_FOLDER"], "send_nightly.py")
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in ("", "sqlalchemy"), out.stdout  # airflow itself imports sqlalchemy
