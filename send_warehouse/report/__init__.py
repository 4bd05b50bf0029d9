"""The morning report: one static HTML page per night under SEND_HOME/reports/YYYY-MM-DD/.

`build_report` reads the marts, writes `index.html` (self-contained: inline CSS and SVG charts) and
`figures.json` beside it, and points `SEND_HOME/reports/latest` at the night. Links to the night's
dbt docs and Great Expectations Data Docs are relative, so the whole SEND_HOME folder can be copied
to a file share and still work.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from send_warehouse.landing.tables import SOURCE_SYSTEMS
from send_warehouse.report.figures import Figures, MartsNotReady, read_figures
from send_warehouse.report.page import render
from send_warehouse.warehouse.connection import connect


def report_dir(home: Path, as_of: date) -> Path:
    return home / "reports" / as_of.isoformat()


def dbt_docs_dir(home: Path) -> Path:
    return home / "dbt" / "docs"


def night_links(home: Path) -> dict[str, Path]:
    """The documentation a night produces, by name, where it exists: dbt docs and each source's Data Docs."""
    links = {"dbt docs (models, columns, lineage)": dbt_docs_dir(home) / "static_index.html"}
    for source in SOURCE_SYSTEMS:
        links[f"Data Docs: {source} validation"] = home / "data_docs" / source / "index.html"
    return {name: path for name, path in links.items() if path.exists()}


def _point_latest(reports: Path, night: Path) -> None:
    latest = reports / "latest"
    temporary = reports / ".latest.tmp"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(night.name, target_is_directory=True)
    os.replace(temporary, latest)  # atomic: a reader never finds `latest` missing


def build_report(url: str, as_of: date, home: Path) -> dict[str, Any]:
    """Write the night's report; returns its path and headline figures. Raises MartsNotReady when
    the marts do not hold that night."""
    out = report_dir(home, as_of)
    with connect(url) as conn:
        figures: Figures = read_figures(conn, as_of)
    figures.links = {name: os.path.relpath(path, out) for name, path in night_links(home).items()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(render(figures), encoding="utf-8")
    (out / "figures.json").write_text(json.dumps(figures.as_dict(), indent=2, default=str), encoding="utf-8")
    _point_latest(out.parent, out)
    return {"path": str(out / "index.html"), "latest": str(out.parent / "latest" / "index.html"),
            "totals": figures.totals}


__all__ = ["MartsNotReady", "build_report", "dbt_docs_dir", "night_links", "report_dir"]
