"""Validate one source's night in the warehouse, after it has landed and before dbt builds it.

`validate_source` runs every suite of the source (one per raw object) with Great Expectations
against the night's rows, by SQL inside PostgreSQL: each object is a GX *query asset* selecting
`_logical_date = D` from its raw table (the date index serves it; no rows come to Python). It
stores one row per expectation in `audit.validation_result` and one per source and run in
`audit.validation_run` (a rerun replaces both), writes GX Data Docs, and returns a
`ValidationOutcome`: `blocked` when any `block` expectation failed (the source's models must
not be rebuilt tonight), with a plain-English line per blocking failure and per warning.

great_expectations is imported inside `validate_source` only (8-11 s cold).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from send_warehouse.config import home_dir
from send_warehouse.sources import SourceError
from send_warehouse.validation.sql import IDENTIFIER_WORDING
from send_warehouse.validation.suites import SuiteFile, load_suites
from send_warehouse.warehouse.connection import connect, sqlalchemy_url

log = logging.getLogger(__name__)

VALIDATION_DDL = """
create schema if not exists audit;

-- One row per source per run: the verdict of the night's validation of that source.
create table if not exists audit.validation_run (
    run_id              text not null,
    source_system       text not null,
    logical_date        date not null,
    started_at          timestamptz not null,
    finished_at         timestamptz not null,
    seconds             numeric(10, 3) not null,
    blocked             boolean not null,
    expectations        integer not null,
    blocking_failures   jsonb not null,   -- plain-English lines, one per failed block expectation
    warnings            jsonb not null,   -- plain-English lines, one per failed warn expectation
    suite_seconds       jsonb not null,   -- {suite: seconds}
    data_docs_index     text,
    primary key (run_id, source_system)
);

-- One row per expectation per run: what was checked, on what, and what was found.
create table if not exists audit.validation_result (
    run_id            text not null,
    source_system     text not null,
    object            text not null,      -- the raw table, e.g. cw_person
    suite             text not null,      -- e.g. casework__cw_person
    expectation_no    integer not null,   -- position in the suite
    logical_date      date not null,
    expectation_type  text not null,
    column_name       text,
    severity          text not null check (severity in ('block', 'warn')),
    rule_code         text,               -- the records-team rule a warning corresponds to
    success           boolean not null,
    unexpected_count  bigint,
    element_count     bigint,
    observed_value    jsonb,
    message           text,               -- plain English when it failed
    details           jsonb,              -- kwargs, sample of record keys, error if it could not run
    recorded_at       timestamptz not null default now(),
    primary key (run_id, source_system, suite, expectation_no)
);
create index if not exists validation_result_failures
    on audit.validation_result (source_system, logical_date) where not success;
"""


class ValidationBlocked(SourceError):
    """A source failed a blocking expectation: its models are not rebuilt tonight."""

    def __init__(self, outcome: ValidationOutcome) -> None:
        self.outcome = outcome
        failures = "; ".join(outcome.blocking_failures[:5])
        more = len(outcome.blocking_failures) - 5
        if more > 0:
            failures += f"; and {more} more"
        super().__init__(
            outcome.source_system,
            f"validation blocked the night of {outcome.logical_date}: {failures}",
            "yesterday's models stay; fix the source (or the landing) and rerun the night; "
            + f"details in {outcome.data_docs_index or 'audit.validation_result'}",
        )


@dataclass
class ValidationOutcome:
    source_system: str
    run_id: str
    logical_date: date
    blocked: bool
    blocking_failures: list[str]
    warnings: list[str]
    data_docs_index: Path | None
    seconds: float
    suite_seconds: dict[str, float] = field(default_factory=dict)
    # Seconds outside the suites: import (of great_expectations, when this call paid it), setup
    # (GX context and data source), data_docs, store (results into the warehouse).
    phase_seconds: dict[str, float] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)  # the rows stored in audit.validation_result

    def raise_if_blocked(self) -> ValidationOutcome:
        if self.blocked:
            raise ValidationBlocked(self)
        return self

    def summary(self) -> dict[str, Any]:
        """JSON-ready digest (for a task's return value or the run summary)."""
        return {
            "source_system": self.source_system,
            "run_id": self.run_id,
            "logical_date": self.logical_date.isoformat(),
            "blocked": self.blocked,
            "blocking_failures": self.blocking_failures,
            "warnings": self.warnings,
            "expectations": len(self.results),
            "failed": sum(1 for r in self.results if not r["success"]),
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None,
            "seconds": self.seconds,
            "suite_seconds": self.suite_seconds,
            "phase_seconds": self.phase_seconds,
        }


def ensure_validation_tables(conn) -> None:
    """Create the validation audit tables if missing (safe to call every night, concurrently)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('send_warehouse.validation.ddl'))")
        conn.execute(VALIDATION_DDL)


# --- Great Expectations -------------------------------------------------------------------------------


def _context(site_dir: Path | None):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if site_dir is not None:
        # GX's page views, with their templates compiled once per process (data_docs.py).
        views = "send_warehouse.validation.data_docs"
        sites["send"] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                   "view": {"module_name": views, "class_name": "IndexPageView"}},
            # Validation pages only: each lists every expectation of its suite with its
            # description, so the suite pages would repeat them at a fifth of a second a source.
            "site_section_builders": {"expectations": "0", "profiling": "0",
                                      "validations": {"view": {"module_name": views,
                                                               "class_name": "ValidationPageView"}}},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _night_query(suite: SuiteFile, logical_date: date) -> str:
    # The table name comes from the catalogue (checked against the suite), the date is a date.
    return f"select * from {suite.qualified_table} where _logical_date = date '{logical_date.isoformat()}'"


def _run_suites(source_system: str, suites: list[SuiteFile], run_id: str, logical_date: date, warehouse_url: str,
                site_dir: Path | None, phases: dict[str, float],
                ) -> tuple[list[tuple[SuiteFile, Any, list[str], float]], Path | None]:
    clock = time.perf_counter()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    from send_warehouse.validation.suites import build_suite

    phases["import"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    context = _context(site_dir)
    datasource = context.data_sources.add_postgres(name=f"warehouse_{source_system}",
                                                  connection_string=sqlalchemy_url(warehouse_url))
    parameters = {"logical_date": logical_date.isoformat(), "run_id": run_id}
    phases["setup"] = round(time.perf_counter() - clock, 3)
    outcomes = []
    try:
        for suite in suites:
            started = time.perf_counter()
            asset = datasource.add_query_asset(name=suite.object, query=_night_query(suite, logical_date))
            batch_definition = asset.add_batch_definition_whole_table(name=f"{suite.object}_night")
            gx_suite = context.suites.add(build_suite(suite))
            ids = [str(e.id) for e in gx_suite.expectations]
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite)
            )
            try:
                result = definition.run(expectation_parameters=parameters, result_format="BASIC")
            except Exception as e:  # the night's rows could not be read at all (e.g. the table is gone)
                log.exception("validation of %s could not run", suite.name)
                result = e
            outcomes.append((suite, result, ids, round(time.perf_counter() - started, 3)))
        index = None
        if site_dir is not None:
            clock = time.perf_counter()
            context.build_data_docs(site_names=["send"])
            index = site_dir / "index.html"
            phases["data_docs"] = round(time.perf_counter() - clock, 3)
        return outcomes, index
    finally:
        datasource.get_engine().dispose()


# --- results into plain English and rows ------------------------------------------------------------


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _share(unexpected: int | None, total: int | None) -> str:
    if unexpected is None:
        return ""
    if total:
        return f"{_n(unexpected)} of {_n(total)} rows ({100.0 * unexpected / total:.1f}%)"
    return f"{_n(unexpected)} rows"


def _examples(sample: list[dict], keys: list[str], limit: int = 3) -> str:
    shown = []
    for row in sample[:limit]:
        parts = [f"{k}={row[k]}" for k in keys if k in row]
        if "value" in row and row["value"] is not None:
            parts.append(f"value {row['value']!r}")
        if parts:
            shown.append(" ".join(parts))
    return f", e.g. {'; '.join(shown)}" if shown else ""


def _describe(etype: str, kwargs: dict, result: dict, suite: SuiteFile, logical_date: date) -> str:
    """What is wrong, in plain English (without the object label)."""
    unexpected = result.get("unexpected_count")
    total = result.get("element_count")
    sample = (result.get("details") or {}).get("sample") or []
    keys = list(kwargs.get("key_columns") or suite.key_columns)
    column = kwargs.get("column")
    limit = ""
    if kwargs.get("max_unexpected_share") is not None:
        limit = (f" (blocks above {100 * kwargs['max_unexpected_share']:.0f}% of the night's rows and"
                 f" {_n(kwargs.get('max_unexpected_count', 0))} rows)")
    if etype == "expect_batch_columns_to_match_types":
        details = result.get("details") or {}
        problems = [f"column {c} is missing (expected {kwargs['columns'][c]})" for c in details.get("missing", [])]
        problems += [f"column {m['column']} is {m['actual']}, expected {m['expected']}"
                     for m in details.get("mistyped", [])]
        return "; ".join(problems) or "columns do not match the catalogue"
    if etype == "expect_table_row_count_to_be_between":
        observed = result.get("observed_value")
        if observed == 0:
            return f"no rows landed for the night of {logical_date} (the object is empty)"
        return f"{_n(observed)} rows, outside {kwargs.get('min_value')}..{kwargs.get('max_value')}"
    if etype == "expect_object_to_hold_rows":
        return f"holds no rows on any night up to {logical_date} (the object is empty)"
    if etype == "expect_table_columns_to_match_set":
        missing = ((result.get("details") or {}).get("mismatched") or {}).get("missing") or []
        return f"column(s) missing: {', '.join(missing)}" if missing else "columns do not match"
    if etype in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_present"):
        mostly = kwargs.get("mostly")
        allowed = f" (more than the {100 * (1 - mostly):.0f}% allowed)" if mostly and mostly < 1 else ""
        return f"column {column} is blank in {_share(unexpected, total)}{allowed}" + _examples(sample, keys)
    if etype == "expect_key_to_be_unique_within_night":
        cols = kwargs["columns"]
        return (f"key ({', '.join(cols)}) is not unique: {_n(unexpected)} value(s) appear more than once tonight"
                + _examples(sample, cols))
    if etype == "expect_column_values_to_be_in_code_set":
        codes = ", ".join(str(c) for c in kwargs["value_set"])
        return (f"{column} is outside the code set ({codes}) in {_share(unexpected, total)}{limit}"
                + _examples(sample, keys))
    if etype == "expect_column_values_to_reference_parent":
        parent = kwargs["parent_table"].split(".")[-1]
        current = kwargs.get("parent_state", "current") == "current"
        when = f"landed up to {logical_date}" if current else "of tonight's snapshot"
        return (f"{column} matches no {parent}.{kwargs['parent_column']} {when} in {_share(unexpected, total)}{limit}"
                + _examples(sample, keys))
    if etype == "expect_column_pair_dates_to_be_in_order":
        return (f"{kwargs['later']} is before {kwargs['earlier']} in {_share(unexpected, total)}"
                + _examples(sample, keys))
    if etype == "expect_column_values_to_be_valid_identifier":
        wording = IDENTIFIER_WORDING[kwargs["check"]]
        return f"{column} {wording} in {_share(unexpected, total)}" + _examples(sample, keys)
    if etype == "expect_night_volume_within_band":
        observed = result.get("observed_value") or {}
        bounds = []
        if kwargs.get("max_drop_share") is not None:
            bounds.append(f"a drop of more than {100 * kwargs['max_drop_share']:.0f}%")
        if kwargs.get("max_rise_share") is not None:
            bounds.append(f"a rise of more than {100 * kwargs['max_rise_share']:.0f}%")
        return (f"{_n(observed.get('rows_tonight'))} rows tonight against {_n(observed.get('rows_previous'))} on"
                f" {observed.get('previous_night')} ({observed.get('change_percent')}%); "
                f"{' or '.join(bounds)} is out of bounds")
    if etype == "expect_json_keys_to_be_present":
        missing = [f"'{row['key']}' missing from {_share(row['rows_missing'], row['rows_checked'])}" for row in sample]
        return f"{column} lacks field(s): {'; '.join(missing)}"
    description = kwargs.get("_description") or etype
    return f"{description}: failed with {_share(unexpected, total)}{limit}"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _result_rows(suite: SuiteFile, result: Any, ids: list[str], run_id: str,
                 logical_date: date) -> list[dict[str, Any]]:
    configs = suite.prepared()["expectations"]
    rows = []
    if isinstance(result, Exception):
        error = f"{type(result).__name__}: {str(result).splitlines()[0] if str(result) else ''}"
        for number, cfg in enumerate(configs):
            rows.append(_row(suite, number, cfg, run_id, logical_date, success=False, result={},
                             message=f"could not be checked: {error}", error=error))
        return rows
    # GX reports results in its own order: match them to the suite's expectations by id.
    by_id = {str(evr.expectation_config.id): evr for evr in result.results}
    for number, (cfg, expectation_id) in enumerate(zip(configs, ids, strict=True)):
        evr = by_id[expectation_id]
        outcome = evr.result or {}
        error = _error_of(evr) if not evr.success else None
        message = None
        if not evr.success:
            if error:
                message = f"{_what(cfg)} could not be checked: {error}"
            else:
                kwargs = {**cfg["kwargs"], "_description": cfg.get("description")}
                message = _describe(cfg["type"], kwargs, outcome, suite, logical_date)
        rows.append(_row(suite, number, cfg, run_id, logical_date, success=bool(evr.success), result=outcome,
                         message=message, error=error))
    return rows


_DRIVER_PREFIX = re.compile(r"^\s*\((?:psycopg2?|sqlalchemy)[\w.]*\)\s*")


def _error_of(evr: Any) -> str | None:
    """The first line of the error that stopped an expectation, if one did.

    GX 1.x reports an expectation's own error as {raised_exception, exception_message, ...} and
    the failure of a metric it needed as {metric id: {...}}: both shapes are read.
    """
    info = evr.exception_info or {}
    candidates = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for candidate in candidates:
        message = candidate.get("exception_message")
        if candidate.get("raised_exception") or message:
            first = (message or "unknown error").strip().splitlines()[0]
            return _DRIVER_PREFIX.sub("", first)[:500]
    return None


def _what(cfg: dict) -> str:
    kwargs = cfg["kwargs"]
    target = kwargs.get("column") or ", ".join(kwargs.get("columns") or []) or None
    name = cfg["type"].removeprefix("expect_").replace("_", " ")
    return f"'{name}'" + (f" on {target}" if target else "")


def _row(suite: SuiteFile, number: int, cfg: dict, run_id: str, logical_date: date, *, success: bool,
         result: dict, message: str | None, error: str | None) -> dict[str, Any]:
    meta = cfg.get("meta") or {}
    kwargs = cfg["kwargs"]
    column = kwargs.get("column")
    if column is None and kwargs.get("columns") and isinstance(kwargs["columns"], list):
        column = ",".join(kwargs["columns"])
    details: dict[str, Any] = {"kwargs": kwargs}
    if result.get("details"):
        details["result"] = result["details"]
    for key in ("partial_unexpected_list", "unexpected_percent", "missing_count"):
        if key in result:
            details[key] = result[key]
    if error:
        details["error"] = error
    observed = result.get("observed_value")
    return {
        "run_id": run_id,
        "source_system": suite.source_system,
        "object": suite.object,
        "suite": suite.name,
        "expectation_no": number,
        "logical_date": logical_date,
        "expectation_type": cfg["type"],
        "column_name": column,
        "severity": meta["severity"],
        "rule_code": meta.get("rule_code"),
        "success": success,
        "unexpected_count": result.get("unexpected_count"),
        "element_count": result.get("element_count"),
        "observed_value": _jsonable(observed) if observed is not None else None,
        "message": f"{suite.label}: {message}" if message else None,
        "details": _jsonable(details),
    }


def _store(warehouse_url: str, outcome: ValidationOutcome, started_at: datetime, finished_at: datetime) -> None:
    from psycopg.types.json import Jsonb

    with connect(warehouse_url) as conn:
        ensure_validation_tables(conn)
        with conn.transaction():
            for table_name in ("audit.validation_result", "audit.validation_run"):
                conn.execute(f"delete from {table_name} where run_id = %s and source_system = %s",
                             (outcome.run_id, outcome.source_system))
            with conn.cursor() as cur:
                cur.executemany(
                    """insert into audit.validation_result
                       (run_id, source_system, object, suite, expectation_no, logical_date, expectation_type,
                        column_name, severity, rule_code, success, unexpected_count, element_count,
                        observed_value, message, details)
                       values (%(run_id)s, %(source_system)s, %(object)s, %(suite)s, %(expectation_no)s,
                               %(logical_date)s, %(expectation_type)s, %(column_name)s, %(severity)s,
                               %(rule_code)s, %(success)s, %(unexpected_count)s, %(element_count)s,
                               %(observed_value)s, %(message)s, %(details)s)""",
                    [{**r, "observed_value": Jsonb(r["observed_value"]) if r["observed_value"] is not None else None,
                      "details": Jsonb(r["details"])} for r in outcome.results],
                )
            conn.execute(
                """insert into audit.validation_run
                   (run_id, source_system, logical_date, started_at, finished_at, seconds, blocked, expectations,
                    blocking_failures, warnings, suite_seconds, data_docs_index)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (outcome.run_id, outcome.source_system, outcome.logical_date, started_at, finished_at,
                 outcome.seconds, outcome.blocked, len(outcome.results), Jsonb(outcome.blocking_failures),
                 Jsonb(outcome.warnings), Jsonb(outcome.suite_seconds),
                 str(outcome.data_docs_index) if outcome.data_docs_index else None),
            )


def _lines(rows: list[dict[str, Any]], severity: str) -> list[str]:
    """One plain-English line per failed expectation of a severity; checks that could not run
    for the same reason (a missing table or column) share one line per object."""
    lines: list[str] = []
    errors: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["success"] or r["severity"] != severity:
            continue
        error = r["details"].get("error")
        if error:
            errors.setdefault((r["source_system"] + " " + r["object"], error), []).append(r)
            continue
        lines.append(r["message"] + (f" [{r['rule_code']}]" if r["rule_code"] else ""))
    for (label, error), failed in errors.items():
        columns = sorted({r["column_name"] for r in failed if r["column_name"]})
        on = f" (on {', '.join(columns)})" if columns else ""
        noun = "check" if len(failed) == 1 else "checks"
        lines.append(f"{label}: {len(failed)} {'blocking' if severity == 'block' else 'warning'} {noun}{on}"
                     f" could not run: {error}")
    return lines


def validate_source(source_system: str, run_id: str, logical_date: date, warehouse_url: str, *,
                    docs_dir: Path | None = None) -> ValidationOutcome:
    """Validate the night's landed rows of one source; store the results; build Data Docs.

    Never raises for bad data: a failed `block` expectation makes `.blocked` true (call
    `.raise_if_blocked()` to turn it into `ValidationBlocked`). Raises for a broken set-up (no
    suites, unreachable warehouse).
    """
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    suites = load_suites(source_system)
    docs_root = Path(docs_dir) if docs_dir is not None else home_dir() / "data_docs"
    # One folder per source: the sources validate in parallel, and each site's index lists
    # only its own latest night (the history lives in audit.validation_result).
    site_dir = docs_root / source_system
    if site_dir.exists():
        shutil.rmtree(site_dir)
    site_dir.mkdir(parents=True, exist_ok=True)

    phases: dict[str, float] = {}
    outcomes, index = _run_suites(source_system, suites, run_id, logical_date, warehouse_url, site_dir, phases)

    rows: list[dict[str, Any]] = []
    suite_seconds: dict[str, float] = {}
    for suite, result, ids, seconds in outcomes:
        rows.extend(_result_rows(suite, result, ids, run_id, logical_date))
        suite_seconds[suite.name] = seconds
    blocking = _lines(rows, "block")
    warnings = _lines(rows, "warn")
    outcome = ValidationOutcome(
        source_system=source_system, run_id=run_id, logical_date=logical_date, blocked=bool(blocking),
        blocking_failures=blocking, warnings=warnings, data_docs_index=index,
        seconds=0.0, suite_seconds=suite_seconds, phase_seconds=phases, results=rows,
    )
    clock = time.perf_counter()
    outcome.seconds = round(clock - started, 3)
    _store(warehouse_url, outcome, started_at, datetime.now(UTC))
    phases["store"] = round(time.perf_counter() - clock, 3)
    outcome.seconds = round(time.perf_counter() - started, 3)
    for line in blocking:
        log.error("BLOCKED %s", line)
    for line in warnings:
        log.warning("%s", line)
    return outcome


__all__ = ["VALIDATION_DDL", "ValidationBlocked", "ValidationOutcome", "ensure_validation_tables", "validate_source"]
