"""What validation costs: validate_source timed per source and per suite on a loaded warehouse.

    .venv/bin/python bench/validation_cost.py [WAREHOUSE_URL] [--date YYYY-MM-DD] [--sources casework,education]

The URL comes from the first argument or WAREHOUSE_URL; the night defaults to the latest logical
date in audit.load_log. Results are stored under their own run id (default `bench-validation`),
so a real run's validation results are left alone. Prints one JSON document: GX's import time
(paid once per process), then per source the seconds of validate_source, of each suite, the
night's rows, and, when the warehouse holds the landing's timing for that night
(audit.run_stage `land_<source>`), validation's share of landing time (the goal is <= 0.15).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from send_warehouse.landing.tables import SOURCE_SYSTEMS, tables_of  # noqa: E402
from send_warehouse.warehouse.connection import connect, redact  # noqa: E402


def _night_facts(url: str, source: str, night: date) -> dict:
    with connect(url) as conn:
        rows = {
            t.name: conn.execute(f"select count(*) from {t.qualified_name} where _logical_date = %s", (night,))
            .fetchone()[0]
            for t in tables_of(source)
        }
        landed = conn.execute(
            """select extract(epoch from s.finished_at - s.started_at)
               from audit.run_stage s join audit.run r using (run_id)
               where r.logical_date = %s and s.stage = %s and s.status = 'success'
               order by s.finished_at desc limit 1""",
            (night, f"land_{source}"),
        ).fetchone()
    return {"rows": rows, "land_seconds": round(float(landed[0]), 3) if landed else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("WAREHOUSE_URL"))
    parser.add_argument("--date", type=date.fromisoformat, default=None, help="logical date (default: latest)")
    parser.add_argument("--sources", default=",".join(SOURCE_SYSTEMS))
    parser.add_argument("--run-id", default="bench-validation")
    parser.add_argument("--docs-dir", type=Path, default=None, help="Data Docs folder (default: a temporary one)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give the warehouse URL as an argument or in WAREHOUSE_URL")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    night = args.date
    if night is None:
        with connect(args.url) as conn:
            night = conn.execute("select max(logical_date) from audit.load_log where status = 'loaded'").fetchone()[0]
        if night is None:
            parser.error("the warehouse has no loaded night in audit.load_log")

    started = time.perf_counter()
    import great_expectations  # noqa: F401

    import send_warehouse.validation.custom  # noqa: F401
    from send_warehouse.validation import validate_source

    import_seconds = round(time.perf_counter() - started, 3)
    report: dict = {"warehouse": redact(args.url), "logical_date": night.isoformat(),
                    "gx_import_seconds": import_seconds, "sources": {}}
    with tempfile.TemporaryDirectory() as tmp:
        docs = args.docs_dir or Path(tmp)
        for source in [s for s in args.sources.split(",") if s]:
            facts = _night_facts(args.url, source, night)
            t = time.perf_counter()
            outcome = validate_source(source, args.run_id, night, args.url, docs_dir=docs)
            seconds = round(time.perf_counter() - t, 3)
            report["sources"][source] = {
                "seconds": seconds,
                "suite_seconds": outcome.suite_seconds,
                "suites_total_seconds": round(sum(outcome.suite_seconds.values()), 3),
                "phase_seconds": outcome.phase_seconds,
                "rows_tonight": facts["rows"],
                "land_seconds": facts["land_seconds"],
                "share_of_landing": round(seconds / facts["land_seconds"], 3) if facts["land_seconds"] else None,
                "expectations": len(outcome.results),
                "blocked": outcome.blocked,
                "blocking_failures": outcome.blocking_failures,
                "warnings": len(outcome.warnings),
            }
    total = sum(s["seconds"] for s in report["sources"].values())
    land = [s["land_seconds"] for s in report["sources"].values() if s["land_seconds"]]
    report["total_seconds"] = round(total, 3)
    report["total_share_of_landing"] = round(total / sum(land), 3) if land and len(land) == len(report["sources"]) \
        else None
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
