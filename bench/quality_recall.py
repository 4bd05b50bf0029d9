"""Per-rule recall of the data-quality rules against the simulator's ground truth.

    .venv/bin/python bench/quality_recall.py --size council [--seed 1] [--as-of 2026-11-24] [--json]

Simulates the size (cached under SEND_HOME/sim, as `send-warehouse bench` does), runs one night
through the real DAG into a fresh database on the warehouse server, and compares the night's
rows of marts.fct_data_quality_exceptions with ground_truth/errors.csv
(send_warehouse/quality_recall.py says how). Prints a Markdown table (or JSON) and, below it,
the injected kinds no records-team rule is meant to catch and where they are handled instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from send_warehouse import quality_recall  # noqa: E402
from send_warehouse.bench import _fresh_database  # noqa: E402
from send_warehouse.config import Settings  # noqa: E402
from send_warehouse.warehouse.connection import warehouse_url  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="council", choices=["tiny", "council", "large-county", "england"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from send_warehouse.cli import run_once
    from send_warehouse.demo import ensure_dataset, simulated_sources

    settings = Settings.from_env()
    say = (lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    folder = ensure_dataset(settings.home, args.size, args.seed, args.as_of, progress=say)
    url = _fresh_database(warehouse_url(settings), f"quality_{args.size.replace('-', '_')}")
    os.environ["WAREHOUSE_URL"] = url
    sources = simulated_sources(settings.home, args.size, args.seed, args.as_of)
    os.environ.update(sources.env)
    os.environ.setdefault("SEND_TASK_RETRIES", "0")
    started = time.perf_counter()
    try:
        summary = run_once(args.as_of, Settings.from_env(), settings.home / "logs" / f"quality-{args.size}.log")
    finally:
        sources.close()
    say(f"night {summary['status']} in {time.perf_counter() - started:.0f} s")
    truth = folder / "ground_truth"
    rows = quality_recall.measure(url, truth, args.as_of)
    elsewhere = quality_recall.unmapped_kinds(truth)
    if args.json:
        print(json.dumps({"size": args.size, "seed": args.seed, "as_of": args.as_of.isoformat(), "rules": rows,
                          "kinds_handled_elsewhere": elsewhere}, indent=2))
    else:
        print(f"size {args.size}, seed {args.seed}, night {args.as_of}\n")
        print(quality_recall.markdown_table(rows))
        print("\nInjected kinds no records-team rule is meant to catch:")
        for kind, n in elsewhere.items():
            print(f"- {kind} ({n:,}): {quality_recall.HANDLED_ELSEWHERE.get(kind, 'not handled')}")
    ok = all(r["recall"] in (None, 1.0) and r["false_positives"] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
