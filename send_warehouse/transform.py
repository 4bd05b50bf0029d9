"""Transformation: the one place that runs dbt, in-process, against the warehouse.

dbt reads its connection from `dbt_project/profiles.yml`, which takes everything from environment
variables (DBT_HOST, DBT_PORT, DBT_USER, DBT_PASSWORD, DBT_DBNAME, DBT_THREADS). `run_dbt` derives
them from the warehouse URL, sets them for the duration of one call and restores the environment
afterwards, so no secret is ever written to a file. dbt's own `target/` (manifest, run results,
compiled SQL) and logs go under SEND_HOME/dbt unless the caller passes other folders, never into
the repository.

Every night's build is pinned to its logical date: the `as_of_date` var is the only "today" the dbt
project knows, so rerunning an old night reproduces that night's answers.

Never name a module of this package `dbt_*.py`: dbt imports every top-level module with that
prefix when it runs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from send_warehouse.config import dbt_project_dir, home_dir
from send_warehouse.warehouse.connection import redact, url_parts

DBT_PROJECT_DIR = dbt_project_dir()

# Statuses dbt reports per node (RunStatus / TestStatus / freshness), as plain strings.
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
WARNING_STATUSES = frozenset({"warn"})

# dbtRunner is not safe to run concurrently in one process, and the connection settings are
# passed through the process environment: one dbt invocation at a time.
_DBT_LOCK = threading.Lock()


class TransformError(RuntimeError):
    """dbt failed: a fatal error (bad project, unreachable warehouse) or failing nodes.

    `outcome` holds the per-node results when dbt got as far as running nodes.
    """

    def __init__(self, message: str, outcome: DbtOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    name: str
    resource_type: str  # model, test, unit_test, seed, snapshot, source
    status: str  # success, error, skipped, pass, fail, warn, ...
    execution_time: float  # seconds
    failures: int | None  # failing rows of a test; None for other nodes
    message: str | None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    @property
    def warned(self) -> bool:
        return self.status in WARNING_STATUSES


@dataclass(frozen=True)
class DbtOutcome:
    command: list[str]  # the dbt arguments as invoked, without the connection and path flags
    success: bool
    results: list[NodeResult]
    elapsed_s: float
    target_path: Path
    log_path: Path
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.failed]

    @property
    def skipped(self) -> list[NodeResult]:
        return [r for r in self.results if r.status == "skipped"]

    @property
    def warnings(self) -> list[NodeResult]:
        return [r for r in self.results if r.warned]

    def by_name(self, name: str) -> NodeResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        parts = ", ".join(f"{status}={n}" for status, n in sorted(counts.items())) or "no nodes"
        return f"dbt {' '.join(self.command[:1])}: {parts} in {self.elapsed_s:.1f}s"


def default_target_path() -> Path:
    return home_dir() / "dbt" / "target"


def default_log_path() -> Path:
    return home_dir() / "dbt" / "logs"


def _dbt_env(warehouse_url: str, threads: int | None) -> dict[str, str]:
    parts = url_parts(warehouse_url)
    env = {
        "DBT_HOST": parts["host"],
        "DBT_PORT": parts["port"],
        "DBT_USER": parts["user"],
        "DBT_PASSWORD": parts["password"],
        "DBT_DBNAME": parts["dbname"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_USE_COLORS": "False",  # plain text in Airflow task logs
    }
    if threads is not None:
        env["DBT_THREADS"] = str(threads)
    return env


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _text(status: Any) -> str:
    return str(getattr(status, "value", status)).lower()


def _node_results(result: Any) -> list[NodeResult]:
    """Per-node results of run/build/test/seed/snapshot/freshness; empty for parse, ls, ..."""
    nodes = []
    for r in getattr(result, "results", None) or []:
        node = getattr(r, "node", None)
        if node is None:
            continue
        failures = getattr(r, "failures", None)
        nodes.append(
            NodeResult(
                unique_id=str(getattr(node, "unique_id", "")),
                name=str(getattr(node, "name", "")),
                resource_type=_text(getattr(node, "resource_type", "")),
                status=_text(getattr(r, "status", "")),
                execution_time=float(getattr(r, "execution_time", 0.0) or 0.0),
                failures=int(failures) if failures is not None else None,
                message=getattr(r, "message", None),
            )
        )
    return nodes


def _failure_message(command: Sequence[str], outcome: DbtOutcome) -> str:
    lines = [f"dbt {' '.join(command)} failed ({outcome.summary()})."]
    for r in outcome.failed:
        detail = f" — {r.failures} failing rows" if r.failures else ""
        message = f": {r.message.strip().splitlines()[0]}" if r.message and r.message.strip() else ""
        lines.append(f"  {r.resource_type} {r.name} {r.status}{detail}{message}")
    if outcome.skipped:
        lines.append(f"  {len(outcome.skipped)} downstream nodes skipped.")
    lines.append(f"dbt logs: {outcome.log_path / 'dbt.log'}; run results: {outcome.target_path / 'run_results.json'}")
    return "\n".join(lines)


def run_dbt(
    command: list[str],
    warehouse_url: str,
    variables: Mapping[str, Any],
    project_dir: Path = DBT_PROJECT_DIR,
    target_path: Path | None = None,
    log_path: Path | None = None,
    threads: int | None = None,
) -> DbtOutcome:
    """Run one dbt command in-process against `warehouse_url`; return per-node results.

    `command` is the dbt sub-command and its own arguments, e.g. ["build", "--select", "tag:casework"]
    or ["source", "freshness"]. `variables` become `--vars` (JSON). Raises TransformError when dbt
    fails, naming the failed models and tests and where the logs are.
    """
    from dbt.cli.main import dbtRunner

    project_dir = Path(project_dir).resolve()
    target_path = Path(target_path or default_target_path()).resolve()
    log_path = Path(log_path or default_log_path()).resolve()
    target_path.mkdir(parents=True, exist_ok=True)
    log_path.mkdir(parents=True, exist_ok=True)
    variables = dict(variables)
    args = [
        *command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(target_path),
        "--log-path", str(log_path),
        "--vars", json.dumps(variables, default=str),
    ]

    started = time.monotonic()
    with _DBT_LOCK, _environment(_dbt_env(warehouse_url, threads)):
        try:
            res = dbtRunner().invoke(args)
        except Exception as exc:  # dbtRunner normally reports through .exception; belt and braces
            raise TransformError(
                f"dbt {' '.join(command)} could not run against {redact(warehouse_url)}: {exc}; "
                f"dbt logs: {log_path / 'dbt.log'}"
            ) from exc
    outcome = DbtOutcome(
        command=list(command),
        success=bool(res.success),
        results=_node_results(res.result),
        elapsed_s=time.monotonic() - started,
        target_path=target_path,
        log_path=log_path,
        variables=variables,
    )
    if res.exception is not None:
        # A fatal error: the project did not parse, the warehouse was unreachable, ... (.result is None).
        raise TransformError(
            f"dbt {' '.join(command)} failed against {redact(warehouse_url)}: {res.exception}\n"
            f"dbt logs: {log_path / 'dbt.log'}",
            outcome,
        ) from res.exception
    if not res.success:
        raise TransformError(_failure_message(command, outcome), outcome)
    return outcome


def _iso_date(value: date | str) -> str:
    if isinstance(value, datetime):
        # A timestamp's date depends on its time zone: the caller must say which night it means.
        raise ValueError(f"as_of_date must be the night's date (e.g. Airflow's ds), not a datetime: {value!r}")
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise ValueError(f"as_of_date must be a date or 'YYYY-MM-DD', got {value!r}") from exc


def build(
    select: Sequence[str],
    as_of_date: date | str,
    run_id: str,
    warehouse_url: str,
    *,
    exclude: Sequence[str] = (),
    unit_tests: bool = True,
    full_refresh: bool = False,
    fail_fast: bool = False,
    allow_empty: bool = False,
    extra_vars: Mapping[str, Any] | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
    target_path: Path | None = None,
    log_path: Path | None = None,
    threads: int | None = None,
) -> DbtOutcome:
    """`dbt build --select ...` for one night: models, their unit tests and data tests, in DAG order.

    `select` takes dbt selectors, e.g. ["tag:casework"] or ["tag:casework", "tag:education"].
    Warning-severity tests (bad codes, broken references) do not fail the build; they are in
    `outcome.warnings`. Raises TransformError when a model, unit test or error-severity test fails,
    and (unless `allow_empty`) when the selection matched nothing, which is usually a typo.
    """
    if not select:
        raise ValueError("select at least one node (e.g. ['tag:casework']); an empty selection builds everything")
    command = ["build", "--select", *select]
    if exclude:
        command += ["--exclude", *exclude]
    if not unit_tests:
        # Unit tests check the SQL, not the night's data: CI runs them, production nights need not.
        command += ["--exclude-resource-type", "unit_test"]
    if full_refresh:
        command.append("--full-refresh")
    if fail_fast:
        command.append("--fail-fast")
    variables = {**(extra_vars or {}), "as_of_date": _iso_date(as_of_date), "run_id": run_id}
    outcome = run_dbt(
        command,
        warehouse_url,
        variables,
        project_dir=project_dir,
        target_path=target_path,
        log_path=log_path,
        threads=threads,
    )
    if not outcome.results and not allow_empty:
        raise TransformError(f"dbt build selected nothing: --select {' '.join(select)}", outcome)
    return outcome


__all__ = [
    "DBT_PROJECT_DIR",
    "DbtOutcome",
    "NodeResult",
    "TransformError",
    "build",
    "default_log_path",
    "default_target_path",
    "run_dbt",
]
