"""Print the headline figures of `send-warehouse bench --json` results (one JSON per file or line).

    .venv/bin/python bench/summarise.py RESULT.json [RESULT.json ...]
"""

from __future__ import annotations

import json
import sys


def load(path: str) -> dict:
    # The result is the last line of the file (anything before it is other output).
    return json.loads(open(path, encoding="utf-8").read().strip().splitlines()[-1])


def headline(d: dict) -> dict:
    full, change = d["full"], d.get("change") or {}
    return {
        "size": d["size"], "status": d["status"], "rows": full["source_rows"],
        "e2e_s": full["end_to_end_s"], **{f"{k}_s": v for k, v in full["by_step_s"].items()},
        "land_rows_s": full["land_rows_per_s"], "copy_rows_s": d["copy_rows_per_s"],
        "land/copy": d["land_share_of_copy"], "validate/land": full["validation_share_of_landing"],
        "change_e2e_s": change.get("end_to_end_s"), "change/full": change.get("end_to_end_share_of_full"),
        "changed_share": change.get("changed_share_of_incremental_objects"),
        "direct_e2e_s": (d.get("direct") or {}).get("end_to_end_s"), "airflow_s": d.get("airflow_overhead_s"),
        "mem_mib": d["memory"], "load": d["machine"]["load_average_at_start"][0],
        "top_models": list(full["dbt_model_s"].items())[:6],
        "objects": full["land_objects"],
    }


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(json.dumps(headline(load(path)), indent=1))
