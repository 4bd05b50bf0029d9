"""dbt models as Airflow tasks? astronomer-cosmos measured against the single `dbt build` we run.

    .venv/bin/python bench/cosmos.py [WAREHOUSE_URL] [--date YYYY-MM-DD] [--modes local[,watcher]] [--readme]

Needs a warehouse whose raw schemas hold a landed night (e.g. after `send-warehouse run --as-of
2026-11-24 --simulate tiny`); the URL comes from the first argument or WAREHOUSE_URL. The night
defaults to the latest logical date in audit.load_log.

In one process, on the same landed rows, one after another:
1. `dbt parse` into a scratch target: the precompiled manifest Cosmos loads from (LoadMode.DBT_MANIFEST).
2. The single build the `transform` task runs (send_warehouse.transform.build, unit tests excluded).
3. For each execution mode, a throwaway DbtDag rendered by Cosmos from that manifest, in a scratch
   DAGs folder, timed while it parses (DagBag of that one file) and while it runs under `dag.test()`.
The project's own DAG file is parsed too, for comparison. Prints one JSON document; `--readme`
also prints a Markdown table row per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the package it measures: keep its folder off the path so that
# `import cosmos` finds astronomer-cosmos, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

DAG_TEMPLATE = '''# An Airflow DAG (these words let DagBag's safe mode read the file) rendered by Cosmos.
from datetime import datetime
from pathlib import Path

from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

DBT_DIR = Path({dbt_dir!r})

dag = DbtDag(
    dag_id="cosmos_{mode}",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    project_config=ProjectConfig(dbt_project_path=DBT_DIR, manifest_path={manifest!r}),
    profile_config=ProfileConfig(profile_name="send_warehouse", target_name="warehouse",
                                 profiles_yml_filepath=DBT_DIR / "profiles.yml"),
    execution_config=ExecutionConfig(execution_mode=ExecutionMode.{mode_enum},
                                     {invocation}dbt_executable_path={dbt!r}),
    render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, emit_datasets=False),
    operator_args={{"vars": {variables!r}, "install_deps": False}},
)
'''


def _latest_night(url: str) -> date:
    from send_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        night = conn.execute("select max(logical_date) from audit.load_log where status = 'loaded'").fetchone()[0]
    if night is None:
        raise SystemExit("no landed night in this warehouse: run `send-warehouse run --simulate tiny` into it first")
    return night


def _parse_seconds(path: Path) -> tuple[float, int]:
    """Seconds to parse one DAG file in a fresh interpreter (what the DAG processor pays), and its tasks."""
    # Airflow itself is imported before the clock starts: the DAG processor has it loaded already.
    code = ("import time; from airflow.dag_processing.dagbag import DagBag; t = time.perf_counter(); "
            f"b = DagBag({str(path)!r}); assert not b.import_errors, b.import_errors; "
            "print(time.perf_counter() - t, sum(len(d.tasks) for d in b.dags.values()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    seconds, tasks = out.stdout.split()[-2:]
    if int(tasks) == 0:
        raise SystemExit(f"{path} rendered no tasks")
    return round(float(seconds), 2), int(tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", default=os.environ.get("WAREHOUSE_URL"))
    parser.add_argument("--date", type=date.fromisoformat, default=None)
    # watcher is not in the default: under dag.test() it never finished here (see bench/README.md).
    parser.add_argument("--modes", default="local", help="comma-separated Cosmos execution modes: local, watcher")
    parser.add_argument("--readme", action="store_true")
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("give a WAREHOUSE_URL (argument or environment)")

    scratch = Path(tempfile.mkdtemp(prefix="cosmos-bench-"))
    from send_warehouse.runner import airflow_env

    os.environ.update(airflow_env(scratch))
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(scratch / "dags")
    (scratch / "dags").mkdir()
    from send_warehouse import transform
    from send_warehouse.runner import prepare_airflow

    night = args.date or _latest_night(args.url)
    variables = {"as_of_date": night.isoformat(), "run_id": "bench-cosmos"}
    # Cosmos runs dbt against the profile, which reads its connection from these variables.
    os.environ.update(transform._dbt_env(args.url, None))
    prepare_airflow(scratch)

    result: dict = {"night": night.isoformat(), "dbt_threads": int(os.environ.get("DBT_THREADS", "2"))}
    started = time.perf_counter()
    transform.run_dbt(["parse"], args.url, variables, target_path=scratch / "target")
    result["dbt_parse_s"] = round(time.perf_counter() - started, 2)
    manifest = scratch / "target" / "manifest.json"

    started = time.perf_counter()
    outcome = transform.build(select=["fqn:*"], unit_tests=False, as_of_date=night, run_id="bench-cosmos",
                              warehouse_url=args.url, target_path=scratch / "build-target")
    result["single_dbt_build_s"] = round(time.perf_counter() - started, 2)
    result["single_dbt_build_nodes"] = len(outcome.results)
    result["project_dag_parse_s"], result["project_dag_tasks"] = _parse_seconds(ROOT / "dags" / "send_nightly.py")
    print(json.dumps(result), file=sys.stderr, flush=True)

    dbt = str(Path(sys.executable).parent / "dbt")
    from airflow.dag_processing.dagbag import DagBag

    for mode in args.modes.split(","):
        path = scratch / "dags" / f"cosmos_{mode}.py"
        invocation = "invocation_mode=InvocationMode.DBT_RUNNER, " if mode == "local" else ""
        path.write_text(DAG_TEMPLATE.format(dbt_dir=str(transform.DBT_PROJECT_DIR), manifest=str(manifest),
                                            mode=mode, mode_enum=mode.upper(), invocation=invocation, dbt=dbt,
                                            variables=variables))
        parse_s, tasks = _parse_seconds(path)
        dag = DagBag(str(path)).get_dag(f"cosmos_{mode}")
        started = time.perf_counter()
        state = str(dag.test(logical_date=datetime.now().astimezone()).state)
        result[mode] = {"dag_parse_s": parse_s, "tasks": tasks, "state": state,
                        "dag_test_s": round(time.perf_counter() - started, 2)}
        print(json.dumps({mode: result[mode]}), file=sys.stderr, flush=True)  # progress, in case a later mode hangs
    print(json.dumps(result, indent=2))
    if args.readme:
        print(f"| single `dbt build` (today's transform task) | {result['project_dag_parse_s']} "
              f"(whole DAG, {result['project_dag_tasks']} tasks) | {result['single_dbt_build_s']} | success |")
        for mode in args.modes.split(","):
            r = result[mode]
            print(f"| Cosmos {mode} | {r['dag_parse_s']} ({r['tasks']} tasks) | {r['dag_test_s']} | {r['state']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
