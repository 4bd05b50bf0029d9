"""`simulate`: build the world, then write each night's systems and the ground truth.

Nights are dated `as_of - (nights - 1)` ... `as_of`; the first of them anchors the world (see
`world.py` for the determinism rule). OUT receives exactly:

    casework.sqlite                     (unless casework_url is given)
    education/YYYY-MM-DD/{pupils,placements,establishments}.csv, then _SUCCESS (one folder a night)
    socialcare/children.jsonl
    ground_truth/{persons,requests,errors,education_gaps}.csv
    manifest.json

Education night folders in OUT that are not nights of this run are removed (and a casework.sqlite
left by an earlier run when casework goes to `casework_url`), so OUT always describes one run.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from . import casework, education, ground_truth, socialcare
from .columns import release_freed_memory
from .dates import to_day
from .sizes import SIZES
from .world import build_world

_NIGHT_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def simulate(size: str, seed: int, out: Path, nights: int = 1, as_of: date | None = None,
             casework_url: str | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Write a simulated council's three source systems and their ground truth; return the manifest."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if nights < 1:
        raise ValueError("nights must be at least 1")
    spec = SIZES[size]
    say = progress or (lambda message: None)
    as_of = as_of or date.today()
    dates = [as_of - timedelta(days=nights - 1 - i) for i in range(nights)]
    first, last = to_day(dates[0]), to_day(dates[-1])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"building the {size} world (seed {seed}, first night {dates[0]})")
    world = build_world(spec, seed, first, last, say)
    _clear_stale_nights(out, {d.isoformat() for d in dates})
    if casework_url:
        (out / "casework.sqlite").unlink(missing_ok=True)
    manifest: dict = {"size": size, "seed": seed, "nights": [d.isoformat() for d in dates],
                      "as_of": as_of.isoformat(),
                      "la_code": f"{spec.la_code:03d}" if len(spec.la_codes) == 1 else None,
                      "la_codes": [f"{la:03d}" for la in spec.la_codes], "counts": {"education": {}}}
    damaged: list[tuple[str, str, str]] = []
    night_result = None
    for d in dates:
        say(f"writing the education drop for {d}")
        night_result = education.write_night(world, to_day(d), out)
        release_freed_memory()
        manifest["counts"]["education"][d.isoformat()] = night_result.counts
        damaged += night_result.damaged
    say("writing the casework database")
    manifest["counts"]["casework"] = casework.write(world, last, out, casework_url)
    release_freed_memory()
    say("writing the social care children")
    manifest["counts"]["socialcare"] = {"children": socialcare.write(world, last, out)}
    manifest["socialcare_children"] = manifest["counts"]["socialcare"]["children"]
    say("writing the ground truth")
    manifest["counts"]["ground_truth"] = ground_truth.write(world, last, night_result, damaged, out)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _clear_stale_nights(out: Path, keep: set[str]) -> None:
    folder = out / "education"
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.is_dir() and _NIGHT_FOLDER.match(child.name) and child.name not in keep:
            shutil.rmtree(child)
