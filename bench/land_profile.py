"""Landing alone, timed (and optionally profiled) per source, with a fingerprint of what it wrote.

    .venv/bin/python bench/land_profile.py --size large-county [--night 2026-11-24] [--profile OUT]
        [--database NAME] [--keep]

Lands one simulated night (SEND_HOME's cached dataset, simulated if missing) into a fresh
database of SEND_HOME's embedded server, one source after another through the stage function
the DAG's land tasks call, and prints one JSON document: seconds and CPU seconds (this process,
the server) per source, rows, and per raw table the rows of the night and an md5 over them
(source columns and `_row_hash`, rows in a fixed order), plus an md5 over the quarantine (object,
key, record, reason). Two runs of different code on the same dataset compare by these md5s.
`--profile OUT` writes a cProfile of the land calls (`python -m pstats OUT`).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from psycopg import sql  # noqa: E402

from send_warehouse import pipeline  # noqa: E402
from send_warehouse.bench import CpuClock, _drop_database, _fresh_database, _point_sources_at  # noqa: E402
from send_warehouse.config import Settings  # noqa: E402
from send_warehouse.landing.tables import ALL_TABLES, SOURCE_SYSTEMS  # noqa: E402
from send_warehouse.warehouse.connection import connect, warehouse_url  # noqa: E402


def fingerprint(url: str, night: date) -> dict:
    out = {}
    with connect(url) as conn:
        for table in ALL_TABLES:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*table.column_names, "_row_hash"))
            out[table.qualified_name] = conn.execute(sql.SQL(
                "select count(*), md5(coalesce(string_agg(r::text, E'\\n' order by r::text), ''))"
                " from (select {} from {} where _logical_date = %s) r").format(
                    columns, sql.Identifier(table.schema, table.name)), (night,)).fetchone()
        out["audit.quarantine"] = conn.execute(
            "select count(*), md5(coalesce(string_agg(concat_ws('|', source_system, object, line_or_key,"
            " raw_record, reason), E'\\n' order by source_system, object, line_or_key, raw_record, reason), ''))"
            " from audit.quarantine where logical_date = %s", (night,)).fetchone()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large-county")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--night", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--database", default="land_profile")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    settings = Settings.from_env()
    os.environ.pop("WAREHOUSE_URL", None)
    url = _fresh_database(warehouse_url(Settings.from_env()), args.database)
    os.environ["WAREHOUSE_URL"] = url
    sources = _point_sources_at(settings.home, args.size, args.seed, args.night)
    run_id = f"land_profile__{args.night.isoformat()}"
    result: dict = {"size": args.size, "night": args.night.isoformat(), "load_average_at_start": os.getloadavg(),
                    "sources": {}}
    profiler = cProfile.Profile() if args.profile else None
    try:
        settings = Settings.from_env()
        pipeline.start_run(run_id, args.night, settings)
        for source in SOURCE_SYSTEMS:
            started = time.perf_counter()
            with CpuClock(settings.home / "pgdata") as cpu:
                if profiler:
                    profiler.enable()
                detail = pipeline.land_source(source, run_id, args.night, settings)
                if profiler:
                    profiler.disable()
            result["sources"][source] = {
                "seconds": round(time.perf_counter() - started, 2), "cpu_s": cpu.summary(),
                "rows": sum(o["rows_read"] for o in detail["objects"]),
                "objects": {o["object"]: o["seconds"] for o in detail["objects"]}}
    finally:
        sources.close()
    result["load_average_at_end"] = os.getloadavg()
    result["fingerprint"] = fingerprint(url, args.night)
    if profiler:
        profiler.dump_stats(args.profile)
    if not args.keep:
        _drop_database(url)
    print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
