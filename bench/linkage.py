"""Linkage benchmark: precision, recall, F1, false merges and seconds of our identity resolution
against the simulator's ground truth, with Splink (DuckDB) on the same staged records beside it.

    .venv/bin/python bench/linkage.py --size council --size large-county --readme

Splink is an optional extra (`pip install -e '.[linkage-bench]'`); without it, pass --no-splink.
A summary goes to stderr (dbt's own log lines share stdout); --json PATH writes the full results;
--readme rewrites the "Linkage" section of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from send_warehouse import linkage_bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=["tiny", "council", "large-county", "england"],
                        help="simulated size (repeatable; default council)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--no-splink", action="store_true", help="skip the Splink comparison")
    parser.add_argument("--splink-threshold", type=float, action="append",
                        help="Splink's clustering threshold, a match probability (repeatable; default "
                             f"{', '.join(map(str, linkage_bench.SPLINK_THRESHOLDS))})")
    parser.add_argument("--pipeline-landing", action="store_true",
                        help="land through the pipeline's extractors instead of straight from the files")
    parser.add_argument("--json", type=Path, help="write the full results to this file")
    parser.add_argument("--readme", action="store_true", help="write the results into bench/README.md")
    args = parser.parse_args(argv)
    sizes = args.size or ["council"]
    results = []
    for size in sizes:
        result = linkage_bench.run(size, seed=args.seed, as_of=args.as_of, splink=not args.no_splink,
                                   splink_thresholds=tuple(args.splink_threshold or linkage_bench.SPLINK_THRESHOLDS),
                                   pipeline_landing=args.pipeline_landing,
                                   progress=lambda m, s=size: print(f"[{s}] {m}", file=sys.stderr))
        results.append(result)
        rows = [("ours", result["ours"])] + [(f"splink p>={t['threshold']}", t) for t in result.get("splink", [])]
        for name, r in rows:
            if r:
                print(f"[{size}] {name}: precision {r['precision']:.4f} recall {r['recall']:.4f} f1 {r['f1']:.4f} "
                      f"false merges {r['false_merges']} missed pairs {r['missed_pairs']} seconds {r['seconds']}",
                      file=sys.stderr)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    if args.readme:
        command = ".venv/bin/python bench/linkage.py " + " ".join(f"--size {s}" for s in sizes) + " --readme"
        linkage_bench.write_readme(ROOT / "bench" / "README.md", linkage_bench.readme_section(results, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
