"""The benchmark: one simulated night end to end, with landing measured against raw COPY.

Simulation is excluded from the timings (a dataset is simulated once per size and seed, then
reused). The night runs through the real DAG into a fresh database on the same server, and the
physical limit is measured in the same run: the landed rows, already typed, are copied again
with plain COPY into bare tables of the same columns (no lineage, no hash, no indexes).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from psycopg import sql

from send_warehouse.config import Settings
from send_warehouse.landing.tables import ALL_TABLES
from send_warehouse.warehouse.connection import connect, libpq_url, warehouse_url


def _fresh_database(server_url: str, name: str) -> str:
    base = libpq_url(server_url).rsplit("/", 1)[0]
    with connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


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


def run_benchmark(size: str, seed: int = 1, as_of: date = date(2026, 11, 24),
                  progress: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    from send_warehouse.cli import run_once
    from send_warehouse.demo import ensure_dataset, simulated_sources

    settings = Settings.from_env()
    started = time.perf_counter()
    ensure_dataset(settings.home, size, seed, as_of, progress=progress)
    simulate_s = time.perf_counter() - started
    url = _fresh_database(warehouse_url(settings), f"bench_{size.replace('-', '_')}")
    os.environ["WAREHOUSE_URL"] = url
    for var in ("CASEWORK_DB_URL", "EDUCATION_DROP_DIR", "SOCIALCARE_API_URL", "SOCIALCARE_API_TOKEN"):
        os.environ.pop(var, None)
    sources = simulated_sources(settings.home, size, seed, as_of)
    os.environ.update(sources.env)
    os.environ.setdefault("SEND_TASK_RETRIES", "0")
    progress(f"running one {size} night into {url.rsplit('/', 1)[1]} …")
    try:
        summary = run_once(as_of, Settings.from_env(), settings.home / "logs" / f"bench-{size}.log")
    finally:
        sources.close()
    stages = {s["stage"]: s["seconds"] for s in summary["stages"]}
    source_rows = sum(s["rows_read"] for s in summary["sources"].values())
    land_s = sum(v for k, v in stages.items() if k.startswith("land_") and v)
    progress("measuring raw COPY of the same rows …")
    copy_rows, copy_s = raw_copy_rows_per_s(url)
    land_rate = source_rows / land_s if land_s else None
    copy_rate = copy_rows / copy_s if copy_s else None
    return {
        "size": size,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "status": summary["status"],
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "source_rows": source_rows,
        "rows_by_source": summary["sources"],
        "stages": stages,
        "simulate_s_excluded": round(simulate_s, 2),
        "end_to_end_s": summary["end_to_end_s"],
        "land_rows_per_s": round(land_rate) if land_rate else None,
        "copy_rows_per_s": round(copy_rate) if copy_rate else None,
        "land_share_of_copy": round(land_rate / copy_rate, 3) if land_rate and copy_rate else None,
    }
