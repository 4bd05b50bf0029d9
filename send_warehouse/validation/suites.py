"""The expectation suites: one reviewed JSON file per raw object in `expectations/`.

A suite file is `<source>__<object>.json`, written in a canonical form (two-space indent, keys
sorted) so that a review sees only real changes, and loads back with
`great_expectations.ExpectationSuite(**data)` once `send_warehouse.validation.custom` has
registered the custom expectations. Its `meta` names the raw object it validates
(`source_system`, `object`, `table`, `load_mode`, `key_columns`); each expectation's `meta`
holds its `severity` (`block`: the source's models are not rebuilt tonight; `warn`: recorded
only) and, for warnings about single records, the records-team `rule_code` it corresponds to.

Reading suites does not import great_expectations; `build_suite` does.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from send_warehouse.config import project_dir
from send_warehouse.landing.tables import SOURCE_SYSTEMS, table

SEVERITIES = ("block", "warn")
# Our expectation types whose SQL is generated and whose samples carry the record key.
KEYED_TYPES = frozenset({
    "expect_column_values_to_be_present",
    "expect_column_values_to_be_valid_identifier",
    "expect_column_values_to_be_in_code_set",
    "expect_column_pair_dates_to_be_in_order",
    "expect_column_values_to_reference_parent",
})
_GX_SEVERITY = {"block": "critical", "warn": "warning"}


class SuiteError(ValueError):
    """A suite file is missing, malformed or inconsistent with the raw table catalogue."""


def expectations_dir() -> Path:
    """SEND_EXPECTATIONS_DIR, else the project's expectations/ folder."""
    configured = os.environ.get("SEND_EXPECTATIONS_DIR")
    return Path(configured).resolve() if configured else project_dir() / "expectations"


@dataclass(frozen=True)
class SuiteFile:
    name: str  # casework__cw_person
    source_system: str
    object: str  # the raw table's name: cw_person
    qualified_table: str  # raw_casework.cw_person
    load_mode: str
    key_columns: tuple[str, ...]
    path: Path
    data: dict[str, Any]  # the file as written

    @property
    def label(self) -> str:
        return f"{self.source_system} {self.object}"

    def prepared(self) -> dict[str, Any]:
        """The suite as given to GX: keyed samples filled in from the suite's key columns."""
        data = copy.deepcopy(self.data)
        for expectation in data["expectations"]:
            if expectation["type"] in KEYED_TYPES:
                expectation["kwargs"].setdefault("key_columns", list(self.key_columns))
        return data


def canonical_json(data: dict[str, Any]) -> str:
    """The form suite files are written in."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _check(path: Path, data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path.name}: not a suite (needs a name, meta and a list of expectations)")
    meta = data.get("meta") or {}
    stem = path.stem
    if data.get("name") != stem:
        raise SuiteError(f"{path.name}: its name is {data.get('name')!r}; name it after the file ({stem!r})")
    source, _, obj = stem.partition("__")
    if meta.get("source_system") != source or meta.get("object") != obj:
        raise SuiteError(f"{path.name}: meta.source_system/object must be {source!r}/{obj!r}")
    try:
        raw = table(source, obj)
    except KeyError:
        raise SuiteError(f"{path.name}: {source}.{obj} is not a raw table in landing/tables.py") from None
    if meta.get("table") != raw.qualified_name or tuple(meta.get("key_columns") or ()) != raw.key:
        raise SuiteError(f"{path.name}: meta.table/key_columns must be {raw.qualified_name}/{list(raw.key)}")
    for i, expectation in enumerate(data["expectations"]):
        where = f"{path.name} expectation {i} ({expectation.get('type')})"
        severity = (expectation.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(f"{where}: meta.severity must be one of {SEVERITIES}, not {severity!r}")
        if expectation.get("severity", _GX_SEVERITY[severity]) != _GX_SEVERITY[severity]:
            raise SuiteError(f"{where}: GX severity {expectation.get('severity')!r} disagrees with meta {severity!r}")


def read_suite(path: Path) -> SuiteFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise SuiteError(f"{path}: cannot read the suite ({e})") from e
    _check(path, data)
    meta = data["meta"]
    return SuiteFile(
        name=data["name"], source_system=meta["source_system"], object=meta["object"],
        qualified_table=meta["table"], load_mode=meta.get("load_mode", ""),
        key_columns=tuple(meta["key_columns"]), path=path, data=data,
    )


def load_suites(source_system: str | None = None, directory: Path | None = None) -> list[SuiteFile]:
    """Every suite (of one source system, if given), in file-name order."""
    if source_system is not None and source_system not in SOURCE_SYSTEMS:
        raise ValueError(f"unknown source {source_system!r}; expected one of {SOURCE_SYSTEMS}")
    folder = directory or expectations_dir()
    if not folder.is_dir():
        raise SuiteError(f"no expectations folder at {folder}; set SEND_EXPECTATIONS_DIR or SEND_PROJECT_DIR")
    pattern = f"{source_system}__*.json" if source_system else "*__*.json"
    suites = [read_suite(p) for p in sorted(folder.glob(pattern))]
    if source_system is not None and not suites:
        raise SuiteError(f"no suites for {source_system} in {folder}")
    return suites


def build_suite(suite: SuiteFile):
    """The GX ExpectationSuite of a suite file (imports great_expectations and our custom ones)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    import send_warehouse.validation.custom  # noqa: F401  (registers the custom expectations)

    return gx.ExpectationSuite(**suite.prepared())


__all__ = ["SuiteError", "SuiteFile", "build_suite", "canonical_json", "expectations_dir", "load_suites", "read_suite"]
