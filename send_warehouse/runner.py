"""Run the nightly DAG in-process for one logical date (Airflow's `dag.test()`).

Airflow's metadata lives in a project-local SQLite database under SEND_HOME/airflow, created on
first use. Airflow reads its configuration when first imported, so `prepare_airflow()` must run
before anything imports airflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from send_warehouse.config import PROJECT_ROOT, Settings

LONDON = ZoneInfo("Europe/London")
DAG_ID = "send_nightly"


def airflow_env(home: Path) -> dict[str, str]:
    """The environment Airflow needs for a local, self-contained run."""
    return {
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/London",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
    }


def prepare_airflow(home: Path) -> None:
    """Point Airflow at a project-local home and migrate its metadata database once."""
    for key, value in airflow_env(home).items():
        os.environ.setdefault(key, value)
    airflow_home = Path(os.environ["AIRFLOW_HOME"])
    airflow_home.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import version

    marker = airflow_home / f".migrated-{version('apache-airflow')}"
    if not marker.exists():
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stderr[-3000:]}")
        marker.touch()


def logical_datetime(as_of: date) -> datetime:
    """The scheduled time of the night whose reporting date is `as_of` (02:00 London)."""
    return datetime(as_of.year, as_of.month, as_of.day, 2, 0, tzinfo=LONDON)


def run_night(as_of: date, settings: Settings) -> tuple[str, str]:
    """Run the DAG for `as_of`; returns (run_id, state)."""
    prepare_airflow(settings.home)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(DAG_ID)
    from send_warehouse.runlock import night_lock
    from send_warehouse.warehouse.connection import warehouse_url

    # One night at a time per warehouse: a second run refuses rather than interleaving with this one.
    with night_lock(warehouse_url(settings), as_of):
        dag_run = dag.test(logical_date=logical_datetime(as_of))
    return dag_run.run_id, str(dag_run.state)
