"""SEN2 at council size: simulate a council, run one night through the real DAG into a fresh
database, write the return, validate it against the XSD and compare the pre-submission report with
the simulator's injected SEN2 problems, and the XML's headline counts with the marts'.

    .venv/bin/python bench/sen2.py --size council --year 2026 [--keep]

Prints one JSON document (persons, requests, plans, XSD valid, report vs injected, seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "marts"))

from marts_night import run_simulated_night  # noqa: E402

from send_warehouse.config import home_dir  # noqa: E402
from send_warehouse.sen2 import produce  # noqa: E402
from send_warehouse.sen2.injected import compare  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="council")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--la", default="926")
    parser.add_argument("--keep", action="store_true", help="keep the database and the files")
    args = parser.parse_args()

    import psycopg

    from send_warehouse.warehouse import embedded

    server = embedded.ensure_running(home_dir() / "pgdata").rsplit("/", 1)[0]
    name = f"sen2bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"{server}/{name}"
    work = Path(tempfile.mkdtemp(prefix="sen2-bench-"))
    try:
        started = time.perf_counter()
        night = run_simulated_night(args.size, args.seed, args.as_of, work / "sim", url)
        night_s = time.perf_counter() - started
        started = time.perf_counter()
        summary = produce(url, args.year, args.la, work / "out" / f"sen2_{args.year}.xml")
        sen2_s = time.perf_counter() - started
        check = compare(url, night.folder, summary["files"], date.fromisoformat(summary["reference_date"]))
        marts = summary["marts"]
        xml = summary["figures"]
        result = {
            "size": args.size, "seed": args.seed, "as_of": args.as_of.isoformat(), "year": args.year,
            "persons": xml["persons"], "requests_in_return": xml["requests"], "plans_in_return": xml["named_plans"],
            "active_plans": xml["active_plans"], "requests_received": xml["requests_received"],
            "plans_issued": xml["plans_issued"],
            "pct_within_20_weeks_excl_exceptions": xml["pct_within_20_weeks_excl_exceptions"],
            "marts": marts, "reconciles": summary["reconciles"],
            "xsd_valid": summary["xsd_valid"], "xsd_errors": summary["xsd_errors"][:5],
            "report_failures": summary["failures"], "failures_by_rule": summary["failures_by_rule"],
            "injected_in_return": len(check["expected"]), "reported": len(check["reported"]),
            "missing": check["missing"][:20], "unexpected": check["unexpected"][:20],
            "report_matches_injected": not check["missing"] and not check["unexpected"],
            "night_s": round(night_s, 1), "sen2_s": round(sen2_s, 1), "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
        return 0 if result["xsd_valid"] and result["report_matches_injected"] and result["reconciles"] else 1
    finally:
        if not args.keep:
            with psycopg.connect(server + "/postgres", autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
            import shutil

            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept: {url} {work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
