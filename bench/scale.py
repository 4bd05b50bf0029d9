"""How time grows with rows: a log-log fit over `send-warehouse bench --json` results of several sizes.

    .venv/bin/python bench/scale.py RESULT.json [RESULT.json ...] [--readme]

Each file holds one result (its last line, as `send-warehouse bench --json > FILE` writes it).
Prints, per step (end to end, land, validate, transform, and the 1 %-change night), the slope of
log(seconds) against log(source rows) by least squares: 1.0 means time grows as fast as rows,
the goal is <= 1.1. With --readme, also the Markdown rows for bench/README.md.

A slope over sizes measured at different moments on a shared machine carries the load of each
moment: read it with the load averages printed beside the sizes.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

STEPS = {
    "end_to_end": lambda d: d["full"]["end_to_end_s"],
    "land": lambda d: d["full"]["by_step_s"]["land"],
    "validate": lambda d: d["full"]["by_step_s"]["validate"],
    "transform": lambda d: d["full"]["by_step_s"]["transform"],
    "change_night": lambda d: (d.get("change") or {}).get("end_to_end_s"),
    "cpu_end_to_end": lambda d: (d["full"].get("cpu_s") or {}).get("total"),
}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8").strip().splitlines()[-1])


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(y) on log(x)."""
    points = [(math.log(x), math.log(y)) for x, y in points if x and y]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else None


def fit(results: list[dict], smallest_rows: int = 0) -> dict[str, float | None]:
    chosen = [d for d in results if d["full"]["source_rows"] >= smallest_rows]
    return {step: (round(s, 3) if (s := slope([(d["full"]["source_rows"], get(d)) for d in chosen])) is not None
                   else None) for step, get in STEPS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--readme", action="store_true")
    args = parser.parse_args(argv)
    results = sorted((load(p) for p in args.results), key=lambda d: d["full"]["source_rows"])
    report = {
        "sizes": [{"size": d["size"], "rows": d["full"]["source_rows"], "end_to_end_s": d["full"]["end_to_end_s"],
                   "load_average_at_start": round(d["machine"]["load_average_at_start"][0], 1)} for d in results],
        "slope_all_sizes": fit(results),
        # tiny is dominated by fixed costs (dbt's parse, one statement per model): fit from council up too.
        "slope_without_tiny": fit([d for d in results if d["size"] != "tiny"]),
    }
    print(json.dumps(report, indent=2))
    if args.readme:
        for step, value in report["slope_all_sizes"].items():
            print(f"| slope of {step} | {value} | {report['slope_without_tiny'][step]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
