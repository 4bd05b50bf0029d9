"""The raw landing tables: one per source object, as received plus lineage columns.

This catalogue is the one definition of the raw layer. Landing creates the tables from it,
extractors map source fields onto its columns, and dbt's `sources` describe the same tables.

Raw rows are kept per logical date: a rerun of a night replaces that night's rows, never adds
to them. Every raw table carries the lineage columns below, and is list-partitioned by
`_logical_date`: landing creates one partition per table and night (`partition_name`) inside
the night's transaction, so a rerun drops and recreates it (no dead rows), COPY may freeze the
rows it writes, and no index on the date is needed to find a night. Rows written through the
parent for a night without its own partition (hand-made test rows, a manual repair) go to the
table's default partition (`default_partition_name`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Lineage is filled by the server, not by Python, so the bulk COPY path touches no row in Python.
# Landing gives each night's partition constant defaults (its run id, date, source object and the
# transaction's time), so COPY evaluates no function per row. The parent's defaults, used only by
# rows written through it, come from transaction-local settings (`send.run_id`,
# `send.logical_date`, `send.source_object`); an insert without them fails loudly.
# `_row_hash` is a generated column over the source columns (see `row_hash_expression`): virtual
# (computed when read) on PostgreSQL 18 and later, stored on older servers.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_run_id", "text not null default current_setting('send.run_id')"),
    ("_logical_date", "date not null default current_setting('send.logical_date')::date"),
    ("_source_object", "text not null default current_setting('send.source_object')"),
    ("_loaded_at", "timestamptz not null default now()"),
)

# Generated columns need immutable expressions, so each type is rendered as text without
# depending on DateStyle or TimeZone.
_IMMUTABLE_TEXT = {
    "date": "({c} - date '2000-01-01')::text",
    "timestamp": "extract(epoch from {c})::text",
    "timestamptz": "extract(epoch from timezone('UTC', {c}))::text",
    "text": "{c}",
}


def row_hash_expression(columns: tuple[tuple[str, str], ...]) -> str:
    """md5 over every source column, nulls distinguished from empty strings."""
    parts = []
    for name, kind in columns:
        rendered = _IMMUTABLE_TEXT.get(kind, "{c}::text").format(c=f'"{name}"')
        parts.append(f"coalesce({rendered}, '\\N')")
    return "md5(" + " || '|' || ".join(parts) + ")"


@dataclass(frozen=True)
class RawTable:
    source_system: str  # casework | education | socialcare
    name: str  # the table name inside the raw schema
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type) in source order
    key: tuple[str, ...]  # the source's natural key
    # "incremental": each night lands rows changed since the watermark (staging keeps the
    # latest version per key); "snapshot": each night lands everything (staging reads the
    # newest night only, so rows that vanished from the source vanish from staging).
    load_mode: str

    @property
    def schema(self) -> str:
        return f"raw_{self.source_system}"

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def partition_name(self, logical_date: date) -> str:
        """The table of one night's rows (a partition of this one, in the same schema)."""
        return f"{self.name}_{logical_date:%Y%m%d}"

    @property
    def default_partition_name(self) -> str:
        return f"{self.name}_default"


CASEWORK = (
    RawTable("casework", "cw_person", (
        ("person_id", "bigint"), ("upn", "text"), ("uln", "text"), ("forename", "text"),
        ("surname", "text"), ("dob", "date"), ("sex", "text"), ("postcode", "text"),
        ("ethnicity", "text"), ("updated_at", "timestamp"),
    ), ("person_id",), "incremental"),
    RawTable("casework", "cw_request", (
        ("request_id", "bigint"), ("person_id", "bigint"), ("received_date", "date"),
        ("request_source", "smallint"), ("decision_date", "date"), ("decision", "text"),
        ("assessment_outcome", "text"), ("outcome_date", "date"), ("draft_issued_date", "date"),
        ("exception_reason", "text"), ("transferred_in_from", "text"), ("team", "text"),
        ("updated_at", "timestamp"),
    ), ("request_id",), "incremental"),
    RawTable("casework", "cw_plan", (
        ("plan_id", "bigint"), ("person_id", "bigint"), ("request_id", "bigint"),
        ("issued_date", "date"), ("primary_need", "text"), ("secondary_need", "text"),
        ("named_urn", "bigint"), ("named_setting_code", "text"), ("ceased_date", "date"),
        ("cease_reason", "smallint"), ("updated_at", "timestamp"),
    ), ("plan_id",), "incremental"),
    RawTable("casework", "cw_review", (
        ("review_id", "bigint"), ("plan_id", "bigint"), ("due_date", "date"),
        ("meeting_date", "date"), ("decision_date", "date"), ("outcome", "text"),
        ("amended_plan_date", "date"), ("updated_at", "timestamp"),
    ), ("review_id",), "incremental"),
    # Documents can be hard-deleted, which an updated_at watermark cannot see: snapshot nightly.
    RawTable("casework", "cw_document", (
        ("document_id", "bigint"), ("person_id", "bigint"), ("request_id", "bigint"),
        ("doc_type", "text"), ("file_name", "text"), ("filed_at", "timestamp"),
        ("deleted_at", "timestamp"),
    ), ("document_id",), "snapshot"),
)

# Education files arrive as full snapshots. Dates are parsed from dd/mm/yyyy at landing.
EDUCATION = (
    RawTable("education", "pupils", (
        ("pupil_ref", "text"), ("upn", "text"), ("uln", "text"), ("legal_forename", "text"),
        ("legal_surname", "text"), ("dob", "date"), ("gender", "text"), ("postcode", "text"),
        ("sen_provision", "text"),
    ), ("pupil_ref",), "snapshot"),
    RawTable("education", "placements", (
        ("placement_id", "text"), ("pupil_ref", "text"), ("urn", "bigint"), ("setting_code", "text"),
        ("start_date", "date"), ("end_date", "date"), ("end_reason", "text"),
        ("hours_per_week", "numeric"), ("is_dual_registration", "text"),
    ), ("placement_id",), "snapshot"),
    RawTable("education", "establishments", (
        ("urn", "bigint"), ("name", "text"), ("type", "text"), ("phase", "text"), ("la_code", "text"),
    ), ("urn",), "snapshot"),
)

# Social care children land as received (the JSON document), keyed and timestamped for
# incremental loading; staging flattens names and involvements out of the payload.
SOCIALCARE = (
    RawTable("socialcare", "children", (
        ("id", "text"), ("updated_at", "timestamptz"), ("payload", "jsonb"),
    ), ("id",), "incremental"),
)

ALL_TABLES: tuple[RawTable, ...] = CASEWORK + EDUCATION + SOCIALCARE
SOURCE_SYSTEMS = ("casework", "education", "socialcare")


def tables_of(source_system: str) -> tuple[RawTable, ...]:
    return tuple(t for t in ALL_TABLES if t.source_system == source_system)


def table(source_system: str, name: str) -> RawTable:
    for t in ALL_TABLES:
        if t.source_system == source_system and t.name == name:
            return t
    raise KeyError(f"{source_system}.{name}")
