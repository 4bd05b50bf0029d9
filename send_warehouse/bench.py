"""The benchmark: simulated nights end to end, with landing measured against raw COPY.

Simulation is excluded from the timings (a dataset is simulated once per size, seed and date,
then reused). In one run, into fresh databases on the same server:

1. a full night (the first night of an empty warehouse) through the real DAG (`dag.test()`);
2. the physical limit: the landed rows, already typed, copied again with plain COPY into bare
   tables of the same columns (no lineage, no hash, no indexes);
3. the next night, in which only a day's changes reach the incremental sources (about 1 % of
   records), through the DAG into the same warehouse;
4. the same full night again, into another fresh database, calling the stage functions the DAG
   tasks call directly, in the DAG's order: the difference is Airflow's own overhead.

The two nights come from two simulations of one world (same seed, same first night): the full
night's sources as they stood that night, the change night's as they stood a day later.
Great Expectations and dbt are imported once before the runs (their import is reported apart),
so the DAG run and the direct run compare like with like.

CPU seconds of each night (this process's and the server's) are reported beside wall seconds:
on a shared machine they compare sizes more steadily. Peak memory is sampled every 0.2 s:
resident memory of this process (the DAG's tasks, dbt and the simulated social care API all run
in it) and the proportional set size of the embedded server's processes, summed.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from psycopg import sql

from send_warehouse.config import Settings
from send_warehouse.landing.tables import ALL_TABLES, SOURCE_SYSTEMS
from send_warehouse.warehouse.connection import connect, libpq_url, warehouse_url


def _fresh_database(server_url: str, name: str) -> str:
    base = libpq_url(server_url).rsplit("/", 1)[0]
    with connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


def _drop_database(url: str) -> None:
    base, name = libpq_url(url).rsplit("/", 1)
    with connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def raw_copy_rows_per_s(url: str) -> tuple[int, float]:
    """Re-COPY every landed raw row into bare tables; returns (rows, seconds of COPY FROM only)."""
    rows = 0
    seconds = 0.0
    with connect(url) as conn:
        conn.execute("create schema if not exists bench")
        for table in ALL_TABLES:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names)
            target = sql.Identifier("bench", f"{table.schema}__{table.name}")
            conn.execute(sql.SQL("drop table if exists {}").format(target))
            conn.execute(sql.SQL("create table {} ({})").format(
                target, sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(k))
                                           for c, k in table.columns)))
            conn.commit()
            with tempfile.TemporaryFile() as buffer:
                with conn.cursor().copy(sql.SQL("copy (select {} from {}.{}) to stdout").format(
                        columns, sql.Identifier(table.schema), sql.Identifier(table.name))) as out:
                    for chunk in out:
                        buffer.write(chunk)
                buffer.seek(0)
                started = time.perf_counter()
                with conn.cursor() as cur:
                    with cur.copy(sql.SQL("copy {} ({}) from stdin").format(target, columns)) as copy:
                        while chunk := buffer.read(1 << 20):
                            copy.write(chunk)
                    rows += cur.rowcount
                conn.commit()
                seconds += time.perf_counter() - started
        conn.execute("drop schema bench cascade")
        conn.commit()
    return rows, seconds


# --- memory -------------------------------------------------------------------------------------------


def _proc_kib(pid: int, field: str, file: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(OSError, ValueError):
            todo += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
    return pids


class MemorySampler:
    """Peak resident memory of this process and of the embedded server's processes (summed PSS,
    so shared buffers are counted once), sampled every `interval` seconds in a thread."""

    def __init__(self, pgdata: Path, interval: float = 0.2) -> None:
        self.pgdata = pgdata
        self.interval = interval
        self.peak_self_kib = 0
        self.peak_server_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def _server_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def sample(self) -> None:
        self.peak_self_kib = max(self.peak_self_kib, _proc_kib(os.getpid(), "VmRSS"))
        server = self._server_pid()
        if server is not None:
            total = sum(_proc_kib(p, "Pss", "smaps_rollup") for p in _process_tree(server))
            self.peak_server_kib = max(self.peak_server_kib, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def summary(self) -> dict[str, Any]:
        mib = 1024
        return {
            "peak_python_mib": round(self.peak_self_kib / mib),
            "peak_server_mib": round(self.peak_server_kib / mib) if self.peak_server_kib else None,
            "peak_total_mib": round((self.peak_self_kib + self.peak_server_kib) / mib),
            "python_maxrss_mib_whole_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mib),
            "children_maxrss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mib),
        }


# --- CPU ------------------------------------------------------------------------------------------------


def _server_cpu_s(pgdata: Path) -> float | None:
    """CPU seconds the embedded server has used: the postmaster's own and its reaped children's
    (cutime/cstime: backends that have exited) plus its live children's."""
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _process_tree(postmaster):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the ")" of the name: state is field 3, so utime..cstime (14..17) are [11:15].
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
        total += utime + stime + (cutime + cstime if pid == postmaster else 0)
    return total / ticks


class CpuClock:
    """CPU seconds of this process (the DAG's tasks, dbt, the simulated API) and of the server:
    on a shared machine, CPU time is steadier than wall time for comparing sizes."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata

    def _now(self) -> tuple[float, float | None]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime, _server_cpu_s(self.pgdata)

    def __enter__(self) -> CpuClock:
        self.start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.python_s = round(end[0] - self.start[0], 2)
        self.server_s = (round(end[1] - self.start[1], 2)
                         if end[1] is not None and self.start[1] is not None else None)

    def summary(self) -> dict[str, float | None]:
        return {"python": self.python_s, "server": self.server_s,
                "total": round(self.python_s + (self.server_s or 0), 2)}


# --- one night ----------------------------------------------------------------------------------------


def _point_sources_at(home: Path, size: str, seed: int, night: date):
    from send_warehouse.demo import simulated_sources

    for var in ("CASEWORK_DB_URL", "EDUCATION_DROP_DIR", "SOCIALCARE_API_URL", "SOCIALCARE_API_TOKEN"):
        os.environ.pop(var, None)
    sources = simulated_sources(home, size, seed, night)
    os.environ.update(sources.env)
    return sources


def _night_through_dag(url: str, home: Path, size: str, seed: int, night: date) -> dict[str, Any]:
    from send_warehouse import pipeline, runner

    os.environ["WAREHOUSE_URL"] = url
    sources = _point_sources_at(home, size, seed, night)
    started = time.perf_counter()
    try:
        with CpuClock(home / "pgdata") as cpu:
            run_id, state = runner.run_night(night, Settings.from_env())
    finally:
        sources.close()
    summary = pipeline.run_summary(url, run_id)
    summary.update(status="success" if state == "success" else "failed",
                   end_to_end_s=round(time.perf_counter() - started, 2), cpu_s=cpu.summary())
    return summary


def _night_direct(url: str, home: Path, size: str, seed: int, night: date) -> dict[str, Any]:
    """The DAG's tasks in the DAG's order, called as plain functions (no Airflow)."""
    from send_warehouse import pipeline

    os.environ["WAREHOUSE_URL"] = url
    sources = _point_sources_at(home, size, seed, night)
    run_id = f"bench_direct__{night.isoformat()}"
    started = time.perf_counter()
    try:
        settings = Settings.from_env()
        with CpuClock(home / "pgdata") as cpu:
            pipeline.start_run(run_id, night, settings)
            for source in SOURCE_SYSTEMS:
                pipeline.preflight(source, run_id, night, settings)
                pipeline.land_source(source, run_id, night, settings)
                pipeline.validate_source(source, run_id, night, settings)
            pipeline.transform(run_id, night, settings)
            pipeline.publish_night(run_id, night, settings)
            pipeline.send_alerts(run_id, night, settings)
            pipeline.morning_report(run_id, night, settings)
            summary = pipeline.finish_run(run_id, night, settings)
    finally:
        sources.close()
    summary["end_to_end_s"] = round(time.perf_counter() - started, 2)
    summary["cpu_s"] = cpu.summary()
    return summary


def _stage_details(url: str, run_id: str) -> dict[str, dict[str, Any]]:
    with connect(url) as conn:
        return {name: detail or {} for name, detail in conn.execute(
            "select stage, detail from audit.run_stage where run_id = %s", (run_id,)).fetchall()}


def _night_figures(url: str, summary: dict[str, Any]) -> dict[str, Any]:
    """Seconds per stage and task, rows, landing rate and validation's share, from the audit."""
    stages = {s["stage"]: s["seconds"] for s in summary["stages"]}
    details = _stage_details(url, summary["run_id"])
    rows = sum(s["rows_read"] for s in summary["sources"].values())
    land_s = sum(v for k, v in stages.items() if k.startswith("land_") and v)
    validate_s = sum(v for k, v in stages.items() if k.startswith("validate_") and v)
    gx_import_s = sum((details.get(f"validate_{s}", {}).get("phases") or {}).get("import", 0.0)
                      for s in SOURCE_SYSTEMS)
    objects = {f"{o['source_system']}.{o['object']}": {"rows": o["rows_read"], "seconds": o["seconds"]}
               for s in SOURCE_SYSTEMS for o in details.get(f"land_{s}", {}).get("objects", [])}
    models = details.get("transform", {}).get("models", {})
    return {
        "run_id": summary["run_id"],
        "status": summary.get("status"),
        "source_rows": rows,
        "rows_by_source": summary["sources"],
        "end_to_end_s": summary["end_to_end_s"],
        "cpu_s": summary.get("cpu_s"),
        "stage_s": stages,
        "by_step_s": {
            "land": round(land_s, 2),
            "validate": round(validate_s, 2),
            "transform": stages.get("transform"),
        },
        "land_rows_per_s": round(rows / land_s) if land_s else None,
        "validation_share_of_landing": round(validate_s / land_s, 3) if land_s else None,
        "validation_gx_import_s": round(gx_import_s, 2),
        "land_objects": objects,
        "dbt_model_s": dict(sorted(models.items(), key=lambda kv: -kv[1])),
    }


def _saved_stderr(progress: Callable[[str], None]) -> Callable[[str], None]:
    """Progress lines to the terminal's stderr even while the runs' output goes to a log file."""
    stream = os.fdopen(os.dup(2), "w", buffering=1)

    def say(message: str) -> None:
        if progress is not _quiet:
            print(message, file=stream, flush=True)

    return say


def _quiet(message: str) -> None:
    pass


def _incremental(object_key: str) -> bool:
    """Whether a landed object ("source.object", as in land_objects) is extracted incrementally."""
    source, _, name = object_key.partition(".")
    return any(t.load_mode == "incremental" for t in ALL_TABLES
               if t.source_system == source and (t.name == name or name.endswith("/" + t.name)))


def _warm_imports(server_url: str) -> float:
    """Import Great Expectations (with our expectations) and dbt, and let dbt parse the project
    once, before anything is timed: a process pays these once, whichever run comes first."""
    started = time.perf_counter()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations  # noqa: F401

    import send_warehouse.validation.custom  # noqa: F401
    from send_warehouse.transform import run_dbt

    run_dbt(["parse"], server_url, {"as_of_date": "2000-01-01", "run_id": "bench_warm_up"})

    return round(time.perf_counter() - started, 2)


def run_benchmark(size: str, seed: int = 1, as_of: date = date(2026, 11, 24),
                  progress: Callable[[str], None] = _quiet, *, change_night: bool = True,
                  direct: bool = True, keep: bool = False,
                  checkpoint: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Full night on `as_of - 1`, raw COPY, change night on `as_of`, the full night without Airflow.

    `checkpoint`, if given, receives the result so far after each step: an England-sized run
    takes hours, and one stopped half-way should still leave the figures of its finished steps."""

    from send_warehouse.demo import ensure_dataset
    from send_warehouse.runner import prepare_airflow

    settings = Settings.from_env()
    full_night = as_of - timedelta(days=1) if change_night else as_of
    started = time.perf_counter()
    progress(f"simulating (or reusing) the {size} sources …")
    ensure_dataset(settings.home, size, seed, full_night, nights=1, progress=progress)
    if change_night:
        ensure_dataset(settings.home, size, seed, as_of, nights=2, progress=progress)
    simulate_s = time.perf_counter() - started
    os.environ.pop("WAREHOUSE_URL", None)
    server = warehouse_url(Settings.from_env())
    os.environ.setdefault("SEND_TASK_RETRIES", "0")
    prepare_airflow(settings.home)
    name = f"bench_{size.replace('-', '_')}"
    result: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "full_night": full_night.isoformat(),
        "machine": {"cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                                   * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "python": platform.python_version(), "load_average_at_start": os.getloadavg()},
        "simulate_s_excluded": round(simulate_s, 2),
    }
    from send_warehouse.cli import _output_to

    # Airflow binds its log handlers to the streams of the first run: one log file for all runs.
    log_path = settings.home / "logs" / f"bench-{size}.log"
    say = _saved_stderr(progress)
    with _output_to(log_path), MemorySampler(settings.home / "pgdata") as memory:
        def step_done() -> None:
            if checkpoint is not None:
                checkpoint({**result, "memory": memory.summary()})

        result["imports_s_excluded"] = _warm_imports(server)
        url = _fresh_database(server, name)
        say(f"full night {full_night} through the DAG into {name} …")
        full = _night_figures(url, _night_through_dag(url, settings.home, size, seed, full_night))
        result["full"] = full
        result["status"] = full["status"]
        step_done()
        say("measuring raw COPY of the same rows …")
        copy_rows, copy_s = raw_copy_rows_per_s(url)
        copy_rate = copy_rows / copy_s if copy_s else None
        result["copy_rows"] = copy_rows
        result["copy_rows_per_s"] = round(copy_rate) if copy_rate else None
        result["land_share_of_copy"] = (round(full["land_rows_per_s"] / copy_rate, 3)
                                        if full["land_rows_per_s"] and copy_rate else None)
        step_done()
        if change_night:
            say(f"change night {as_of} through the DAG into {name} …")
            change = _night_figures(url, _night_through_dag(url, settings.home, size, seed, as_of))
            changed = sum(o["rows"] for k, o in change["land_objects"].items() if _incremental(k))
            before = sum(o["rows"] for k, o in full["land_objects"].items() if _incremental(k))
            # Rows the incremental objects extracted against all they held the night before.
            change["changed_share_of_incremental_objects"] = round(changed / before, 4) if before else None
            change["end_to_end_share_of_full"] = round(change["end_to_end_s"] / full["end_to_end_s"], 3)
            result["change"] = change
            if change["status"] != "success":
                result["status"] = change["status"]
            step_done()
        if not keep:
            _drop_database(url)
        if direct:
            direct_url = _fresh_database(server, name + "_direct")
            say(f"full night {full_night} again, stage functions called directly …")
            plain = _night_figures(direct_url, _night_direct(direct_url, settings.home, size, seed, full_night))
            result["direct"] = {k: plain[k] for k in ("end_to_end_s", "cpu_s", "by_step_s", "stage_s")}
            result["airflow_overhead_s"] = round(full["end_to_end_s"] - plain["end_to_end_s"], 2)
            result["airflow_overhead_share"] = round(result["airflow_overhead_s"] / full["end_to_end_s"], 3)
            # On a shared machine the stages themselves vary by more than Airflow costs: the time
            # outside the stages (Airflow's scheduling, task start, XCom; for the direct run, the
            # calls between stages) is the steadier measure of what Airflow adds.
            outside = {name: night["end_to_end_s"] - sum(v for v in night["stage_s"].values() if v)
                       for name, night in (("dag", full), ("direct", plain))}
            result["outside_stages_s"] = {k: round(v, 2) for k, v in outside.items()}
            result["airflow_overhead_outside_stages_s"] = round(outside["dag"] - outside["direct"], 2)
            if not keep:
                _drop_database(direct_url)
    result["memory"] = memory.summary()
    return result
