"""The validation layer's custom Great Expectations: SQL that runs inside the warehouse.

Importing this module imports great_expectations (8-11 s cold), so only import it inside the
functions that validate, never at the top of anything a DAG file imports at parse time.

Every check that is not a plain GX built-in is a subclass of GX 1.x's `UnexpectedRowsExpectation`:
a SQL query returns the rows that break the rule, and the expectation fails when there are
more of them than its threshold allows. The identifier checks, date order, code sets,
referential integrity, key uniqueness and night-over-night volume are each written once here
(SQL from `send_warehouse.validation.sql`) and named from the suites with a few keyword
arguments, so a suite never repeats the SQL.

Three differences from the stock `UnexpectedRowsExpectation`, all for cost at county scale:

- one scan for the row rules of a suite: a rule tested on single rows (filled in, code set,
  date order, identifier; `RowRule`) declares an aggregate metric, `count(*) filter (where
  predicate)`, and GX computes every aggregate metric of a batch in one SELECT (its metric
  bundle); a keyed sample is fetched only for a rule that found rows;
- one round trip for every other rule: the unexpected rows are counted and a sample of them is
  fetched by a single statement (`send.unexpected_rows_summary`), where the stock expectation
  runs the query twice and fetches up to 200 whole rows through the driver's client-side cursor;
- thresholds: `max_unexpected_count` and `max_unexpected_share` (of the night's rows) let one
  rule both warn on a few rows and block a source when it breaks at scale.

Query templates use `str.format` placeholders, as GX's own do: `{batch}` is the night's rows as
a parenthesised subquery (always give it an alias), `{logical_date}` the night's date as a SQL
date literal (from the `logical_date` expectation parameter). Literal braces are doubled.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, ClassVar, Dict, List, Literal, NamedTuple, Optional, Tuple, Union  # noqa: UP035

from great_expectations.compatibility import pydantic
from great_expectations.compatibility.sqlalchemy import sqlalchemy as sa
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.core.metric_function_types import MetricPartialFunctionTypes
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.expectation_configuration import parse_result_format
from great_expectations.expectations.metrics.metric_provider import metric_partial, metric_value
from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider
from great_expectations.validator.metric_configuration import MetricConfiguration
from great_expectations.validator.validator import ValidationDependencies

from send_warehouse.validation import sql

SAMPLE_SIZE = 20


class RowRule(NamedTuple):
    """A rule tested on single rows of the night, which can join the suite's one aggregate."""

    predicate: str  # true for a row that breaks the rule; reads the row's columns unqualified
    columns: str  # the sample's select list, over the night's rows as `b`
    reads: tuple[str, ...] = ()  # the batch columns it names (checked present before the aggregate runs)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- metrics -----------------------------------------------------------------------------------


def _batch_sql(execution_engine: SqlAlchemyExecutionEngine, metric_domain_kwargs: dict) -> str:
    selectable, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
    if isinstance(selectable, sa.Table):
        return f"(select * from {selectable.fullname})"
    compiled = selectable.compile(dialect=execution_engine.engine.dialect, compile_kwargs={"literal_binds": True})
    return f"({compiled})"


def _date_literal(value: Any) -> str:
    text = value.isoformat() if isinstance(value, date) else str(value or "")
    if not _DATE.match(text):
        raise ValueError(f"logical_date must be an ISO date (YYYY-MM-DD), got {value!r}; pass it as an"
                         " expectation parameter")
    return f"date '{text}'"


def render_query(template: str, batch_sql: str, logical_date: Any) -> str:
    fields = {"batch": batch_sql}
    if "{logical_date}" in template:
        fields["logical_date"] = _date_literal(logical_date)
    return template.format(**fields)


class UnexpectedRowsSummary(QueryMetricProvider):
    """Count of a query's rows and a JSON sample of them, in one statement on the server."""

    metric_name = "send.unexpected_rows_summary"
    value_keys = ("query_template", "logical_date", "sample_size")

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: Dict[str, Any],  # noqa: UP006
        runtime_configuration: dict,
    ) -> dict:
        query = render_query(metric_value_kwargs["query_template"], _batch_sql(execution_engine, metric_domain_kwargs),
                             metric_value_kwargs.get("logical_date"))
        sample_size = int(metric_value_kwargs.get("sample_size") or SAMPLE_SIZE)
        statement = (
            f"with unexpected as materialized ({query})\n"
            "select (select count(*) from unexpected) as unexpected_count,\n"
            "       (select coalesce(jsonb_agg(to_jsonb(s)), '[]'::jsonb)::text\n"
            f"          from (select * from unexpected limit {sample_size}) s) as sample"
        )
        row = execution_engine.execute_query(sa.text(statement)).fetchone()
        return {"unexpected_count": int(row[0]), "sample": json.loads(row[1])}


class RowsBreakingRule(TableMetricProvider):
    """How many of the night's rows make `predicate` true: an aggregate over the night's rows.

    GX computes every aggregate metric of one batch in a single SELECT (its metric bundle, with
    `table.row_count`), so all the row rules of a suite cost one scan of the night's rows
    instead of one statement each. The predicate reads the row's columns unqualified.
    """

    metric_name = "send.rows_breaking_rule"
    value_keys = ("predicate", "reads")

    @classmethod
    def _get_evaluation_dependencies(cls, metric, configuration=None, execution_engine=None,
                                     runtime_configuration=None):
        dependencies = super()._get_evaluation_dependencies(
            metric=metric, configuration=configuration, execution_engine=execution_engine,
            runtime_configuration=runtime_configuration,
        )
        dependencies[BatchColumnTypes.metric_name] = _batch_column_types(metric.metric_domain_kwargs)
        return dependencies

    @metric_partial(
        engine=SqlAlchemyExecutionEngine,
        partial_fn_type=MetricPartialFunctionTypes.AGGREGATE_FN,
        domain_type=MetricDomainTypes.TABLE,
    )
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: Dict[str, Any],  # noqa: UP006
        runtime_configuration: dict,
    ):
        present = {name for name, _ in metrics[BatchColumnTypes.metric_name]}
        if not set(metric_value_kwargs.get("reads") or ()) <= present:
            # A column is gone (schema drift): the other rules still run in the aggregate, this one
            # reports the missing column (ExpectUnexpectedRowsWithinThreshold._validate).
            return sa.literal_column("null::bigint"), metric_domain_kwargs, {}
        return sa.literal_column(f"count(*) filter (where {metric_value_kwargs['predicate']})"), \
            metric_domain_kwargs, {}


class RowsBreakingRuleSample(QueryMetricProvider):
    """A JSON sample (`columns`, as a select list over the night's rows `b`) of the rows that make
    `predicate` true; no statement at all when the bundled count found none."""

    metric_name = "send.rows_breaking_rule_sample"
    value_keys = ("predicate", "reads", "columns", "sample_size")

    @classmethod
    def _get_evaluation_dependencies(cls, metric, configuration=None, execution_engine=None,
                                     runtime_configuration=None):
        dependencies = super()._get_evaluation_dependencies(
            metric=metric, configuration=configuration, execution_engine=execution_engine,
            runtime_configuration=runtime_configuration,
        )
        dependencies[RowsBreakingRule.metric_name] = MetricConfiguration(
            RowsBreakingRule.metric_name, metric_domain_kwargs=metric.metric_domain_kwargs,
            metric_value_kwargs={k: metric.metric_value_kwargs[k] for k in RowsBreakingRule.value_keys},
        )
        return dependencies

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: Dict[str, Any],  # noqa: UP006
        runtime_configuration: dict,
    ) -> list:
        if not metrics[RowsBreakingRule.metric_name]:
            return []
        batch = _batch_sql(execution_engine, metric_domain_kwargs)
        sample_size = int(metric_value_kwargs.get("sample_size") or SAMPLE_SIZE)
        statement = (
            "select coalesce(jsonb_agg(to_jsonb(s)), '[]'::jsonb)::text from"
            f" (select {metric_value_kwargs['columns']} from {batch} as b"
            f" where {metric_value_kwargs['predicate']} limit {sample_size}) as s"
        )
        return json.loads(execution_engine.execute_query(sa.text(statement)).fetchone()[0])


class BatchColumnTypes(QueryMetricProvider):
    """Name and PostgreSQL type of every column of the batch, read from the result description."""

    metric_name = "send.batch_column_types"
    value_keys = ()

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: Dict[str, Any],  # noqa: UP006
        runtime_configuration: dict,
    ) -> list:
        batch = _batch_sql(execution_engine, metric_domain_kwargs)
        result = execution_engine.execute_query(sa.text(f"select * from {batch} as b limit 0"))
        described = [(d[0], int(d[1])) for d in result.cursor.description]
        result.close()
        oids = sorted({oid for _, oid in described})
        names = dict(
            execution_engine.execute_query(
                sa.text("select oid::int, format_type(oid, null) from pg_type where oid::int in ("
                        + ", ".join(str(o) for o in oids) + ")")
            ).fetchall()
        ) if oids else {}
        return [[name, names.get(oid, str(oid))] for name, oid in described]


def _batch_column_types(domain: dict) -> MetricConfiguration:
    """The batch's columns, on the domain the type expectation asks for (so GX reads them once)."""
    return MetricConfiguration(BatchColumnTypes.metric_name,
                               metric_domain_kwargs={k: domain.get(k) for k in BatchColumnTypes.domain_keys})


# --- the base SQL expectation ----------------------------------------------------------------------


class ExpectUnexpectedRowsWithinThreshold(UnexpectedRowsExpectation):
    """Rows returned by `unexpected_rows_query` break the rule; fail when there are too many.

    Fails when unexpected rows > `max_unexpected_count` and, if `max_unexpected_share` is set,
    also make up more than that share of the night's rows. The defaults fail on any row.
    """

    unexpected_rows_query: Union[str, SuiteParameterDict]  # noqa: UP007
    logical_date: Union[str, SuiteParameterDict, None] = None  # noqa: UP007
    max_unexpected_count: int = 0
    max_unexpected_share: Optional[float] = None  # noqa: UP045

    metric_dependencies: ClassVar[Tuple[str, ...]] = ("table.row_count", "send.unexpected_rows_summary")  # noqa: UP006
    success_keys: ClassVar[Tuple[str, ...]] = (  # noqa: UP006
        "unexpected_rows_query", "logical_date", "max_unexpected_count", "max_unexpected_share",
    )

    class Config:
        title = "SQL rule with a threshold"

    def query_template(self) -> str:
        return str(self.unexpected_rows_query)

    def row_rule(self) -> RowRule | None:
        """The rule as a test of single rows of the night, when it is one (it then joins the
        suite's one aggregate); None when it needs a statement of its own."""
        return None

    def unexpected_summary(self, metrics: dict) -> dict:
        """{unexpected_count, sample}, from the bundled count or from the rule's own statement."""
        if RowsBreakingRule.metric_name in metrics:
            count = metrics[RowsBreakingRule.metric_name]
            if count is None:  # a column it reads is missing: fail as its own statement would have
                present = {name for name, _ in metrics[BatchColumnTypes.metric_name]}
                missing = next(c for c in self.row_rule().reads if c not in present)
                raise ValueError(f"column b.{missing} does not exist")
            return {"unexpected_count": int(count), "sample": metrics[RowsBreakingRuleSample.metric_name]}
        return metrics[UnexpectedRowsSummary.metric_name]

    def get_validation_dependencies(self, execution_engine=None, runtime_configuration=None):
        # Built by hand rather than through GX's get_metric_kwargs or Expectation's own method,
        # which rebuild the expectation's configuration (a deep copy) for every keyword they read:
        # about a second of pure Python per source. Only the result format is taken from them.
        result_format = (runtime_configuration or {}).get("result_format", self.result_format)
        dependencies = ValidationDependencies(metric_configurations={},
                                              result_format=parse_result_format(result_format))
        domain = {"batch_id": self.batch_id, "table": None, "row_condition": None, "condition_parser": None}
        dependencies.set_metric_configuration(
            metric_name="table.row_count",
            metric_configuration=MetricConfiguration("table.row_count", metric_domain_kwargs=domain),
        )
        rule = self.row_rule()
        if rule is not None:
            # A rule on single rows: its count joins the suite's one aggregate over the night's
            # rows; the sample is fetched only when there is something to show.
            dependencies.set_metric_configuration(metric_name=BatchColumnTypes.metric_name,
                                                  metric_configuration=_batch_column_types(domain))
            counted = {"predicate": rule.predicate, "reads": list(rule.reads)}
            for metric_name, value_kwargs in (
                (RowsBreakingRule.metric_name, counted),
                (RowsBreakingRuleSample.metric_name, {**counted, "columns": rule.columns, "sample_size": SAMPLE_SIZE}),
            ):
                dependencies.set_metric_configuration(
                    metric_name=metric_name,
                    metric_configuration=MetricConfiguration(metric_name, metric_domain_kwargs=domain,
                                                             metric_value_kwargs=value_kwargs),
                )
            return dependencies
        dependencies.set_metric_configuration(
            metric_name=UnexpectedRowsSummary.metric_name,
            metric_configuration=MetricConfiguration(
                metric_name=UnexpectedRowsSummary.metric_name,
                metric_domain_kwargs=domain,
                metric_value_kwargs={
                    "query_template": self.query_template(),
                    "logical_date": self.logical_date if isinstance(self.logical_date, str | date) else None,
                    "sample_size": SAMPLE_SIZE,
                },
            ),
        )
        return dependencies

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None):
        summary = self.unexpected_summary(metrics)
        element_count = int(metrics.get("table.row_count") or 0)
        unexpected = summary["unexpected_count"]
        over = unexpected > self.max_unexpected_count
        if over and self.max_unexpected_share is not None:
            over = element_count == 0 or unexpected / element_count > self.max_unexpected_share
        return {
            "success": not over,
            "result": {
                "observed_value": unexpected,
                "element_count": element_count,
                "unexpected_count": unexpected,
                "unexpected_percent": round(100.0 * unexpected / element_count, 3) if element_count else None,
                "details": {"sample": summary["sample"]},
            },
        }


# --- rules written once, named from the suites ---------------------------------------------------


class _GeneratedQuery(ExpectUnexpectedRowsWithinThreshold):
    """A rule whose SQL is built from its keyword arguments (`build_query`), not written in the suite.

    The unexpected rows it returns hold the record's key (`key_columns`, filled in from the
    suite's meta by `suites.py`) and the offending value where that is not personal data, never
    whole rows: results and Data Docs must not copy names or dates of birth out of the raw layer.
    """

    unexpected_rows_query: Union[str, SuiteParameterDict, None] = None  # noqa: UP007
    key_columns: Optional[List[str]] = None  # noqa: UP006, UP045

    @classmethod
    def build_row_rule(cls, values: dict) -> RowRule | None:
        """The rule as a test of single rows of the night (its predicate runs inside GX's aggregate
        over the night's rows); None when the rule needs a statement of its own."""
        return None

    @classmethod
    def build_query(cls, values: dict) -> str:
        """The statement listing the unexpected rows (kept in the expectation's kwargs, and run
        as is by the rules that are not row rules)."""
        rule = cls.build_row_rule(values)
        if rule is None:  # pragma: no cover - every other subclass defines build_query
            raise NotImplementedError
        return f"select {sql.escape_braces(rule.columns)} from {{batch}} as b where {sql.escape_braces(rule.predicate)}"

    def row_rule(self) -> RowRule | None:
        return type(self).build_row_rule(self.__dict__)

    @pydantic.root_validator(pre=True)
    def _fill_query(cls, values: dict) -> dict:
        values = dict(values)
        values["unexpected_rows_query"] = cls.build_query(values)
        return values


def _keys(values: dict, alias: str = "b") -> str:
    """The record key columns of the batch row, for the sample of unexpected rows."""
    columns = values.get("key_columns") or ["_row_hash"]
    return ", ".join(f"{alias}.{sql.ident(c)}" for c in columns)


def _value(values: dict, field: str = "column", expression_field: str = "expression") -> str:
    """The checked value: a column of the batch row `b`, or a SQL expression (JSON paths)."""
    if values.get(expression_field):
        return sql.escape_braces(str(values[expression_field]))
    return "b." + sql.ident(values[field])


def _row_value(values: dict, field: str = "column", expression_field: str = "expression") -> str:
    """The checked value of a row rule: a column, unqualified, or a SQL expression over the row."""
    if values.get(expression_field):
        return f"({values[expression_field]})"
    return sql.ident(values[field])


def _reads(values: dict, *fields: tuple[str, str]) -> tuple[str, ...]:
    """The columns a row rule names (those given as SQL expressions are not listed)."""
    return tuple(values[field] for field, expression in fields or (("column", "expression"),)
                 if not values.get(expression))


def _rows(values: dict) -> str:
    """The FROM clause: the night's rows as `b`, or a suite's clause over `{batch} as b` that
    unnests nested JSON (e.g. social care involvements)."""
    return str(values.get("from_rows") or "{batch} as b")


class ExpectColumnValuesToBeValidIdentifier(_GeneratedQuery):
    """UPN shape and check letter, NHS number and ULN shape and check digit (shared/domain.md).

    `check` is one of upn_format, upn_check_letter, nhs_format, nhs_check_digit, uln_format,
    uln_check_digit. Values are cleaned as staging cleans them before they are checked; nulls
    are not checked. The sample holds record keys only (identifiers are personal data).
    """

    column: str
    check: Literal["upn_format", "upn_check_letter", "nhs_format", "nhs_check_digit", "uln_format", "uln_check_digit"]
    expression: Optional[str] = None  # noqa: UP045

    class Config:
        title = "Identifier check (UPN, NHS number, ULN)"

    @classmethod
    def build_row_rule(cls, values: dict) -> RowRule:
        check = sql.IDENTIFIER_CHECKS[values["check"]]
        return RowRule(check.unexpected_raw(_row_value(values)), _keys(values), _reads(values))


class ExpectColumnValuesToBePresent(_GeneratedQuery):
    """`column` is not null in at least `mostly` of the night's rows (default: every row).

    Used instead of GX's built-in not-null expectation: on a query asset, GX 1.24 finds the
    batch's columns by executing the asset's whole query (every row sent to the client), which
    at county scale cost more than all the checks themselves.
    """

    column: str
    mostly: float = 1.0

    class Config:
        title = "Column filled in"

    @classmethod
    def build_row_rule(cls, values: dict) -> RowRule:
        return RowRule(f"{sql.ident(values['column'])} is null", _keys(values), _reads(values))

    @pydantic.root_validator(pre=True)
    def _threshold_from_mostly(cls, values: dict) -> dict:
        values = dict(values)
        mostly = float(values.get("mostly", 1.0))
        if mostly < 1.0:
            values.setdefault("max_unexpected_share", round(1.0 - mostly, 6))
        return values


class ExpectColumnValuesToBeInCodeSet(_GeneratedQuery):
    """Values (cleaned as staging cleans codes: trimmed, upper-case) must be in `value_set`.

    Nulls are not checked. A value set of integers is compared as integers, without cleaning.
    """

    column: str
    value_set: List[Union[str, int]]  # noqa: UP006, UP007
    expression: Optional[str] = None  # noqa: UP045
    from_rows: Optional[str] = None  # noqa: UP045

    class Config:
        title = "Code set"

    @classmethod
    def build_row_rule(cls, values: dict) -> RowRule | None:
        if values.get("from_rows"):
            return None
        codes = values["value_set"]
        value = _row_value(values)
        listed = ", ".join(sql.literal(c) for c in codes)
        if all(isinstance(c, int) for c in codes):
            return RowRule(f"{value} not in ({listed})", f"{_keys(values)}, {value} as value", _reads(values))
        # Most values are already clean: compare them as they stand, and clean only the rest.
        cleaned = sql.clean_code(value)
        return RowRule(f"({value})::text not in ({listed}) and {cleaned} not in ({listed})",
                       f"{_keys(values)}, {cleaned} as value", _reads(values))

    @classmethod
    def build_query(cls, values: dict) -> str:
        if not values.get("from_rows"):
            return super().build_query(values)
        # Rows of nested JSON (one per element): a statement of its own.
        codes = values["value_set"]
        value = _value(values)
        listed = ", ".join(sql.escape_braces(sql.literal(c)) for c in codes)
        if all(isinstance(c, int) for c in codes):
            return f"select {_keys(values)}, {value} as value from {_rows(values)} where {value} not in ({listed})"
        # Most values are already clean: compare them as they stand, and clean only the rest.
        cleaned = sql.escape_braces(sql.clean_code(value))
        return (
            f"select {_keys(values)}, {cleaned} as value from {_rows(values)}"
            f" where ({value})::text not in ({listed}) and {cleaned} not in ({listed})"
        )


class ExpectColumnPairDatesToBeInOrder(_GeneratedQuery):
    """`earlier` must not be after `later` when both are present (rule DATE_ORDER).

    Columns by name, or SQL expressions (`earlier_expression`, `later_expression`) over
    `from_rows`; `iso_text: true` reads ISO-8601 text (JSON) as dates, unreadable text as null.
    """

    earlier: str
    later: str
    earlier_expression: Optional[str] = None  # noqa: UP045
    later_expression: Optional[str] = None  # noqa: UP045
    from_rows: Optional[str] = None  # noqa: UP045
    iso_text: bool = False

    class Config:
        title = "Date order"

    @classmethod
    def build_row_rule(cls, values: dict) -> RowRule | None:
        if values.get("from_rows"):
            return None
        earlier = _row_value(values, "earlier", "earlier_expression")
        later = _row_value(values, "later", "later_expression")
        if values.get("iso_text"):
            earlier, later = (sql.safe_iso_date(v) for v in (earlier, later))
        return RowRule(f"({earlier}) is not null and ({later}) is not null and ({later}) < ({earlier})",
                       f"{_keys(values)}, {earlier} as earlier, {later} as later",
                       _reads(values, ("earlier", "earlier_expression"), ("later", "later_expression")))

    @classmethod
    def build_query(cls, values: dict) -> str:
        if not values.get("from_rows"):
            return super().build_query(values)
        earlier = _value(values, "earlier", "earlier_expression")
        later = _value(values, "later", "later_expression")
        if values.get("iso_text"):
            earlier, later = (sql.escape_braces(sql.safe_iso_date(v)) for v in (earlier, later))
        return (
            f"select {_keys(values)}, {earlier} as earlier, {later} as later from {_rows(values)}"
            f" where ({earlier}) is not null and ({later}) is not null and ({later}) < ({earlier})"
        )


class ExpectColumnValuesToReferenceParent(_GeneratedQuery):
    """Each `column` value of tonight's rows names an existing `parent_column` in `parent_table`.

    `parent_state`: "current" (incremental parents: any version landed on a night up to and
    including tonight, i.e. the current state, not only tonight's delta) or "night" (snapshot
    parents: the parent's rows of tonight). `clean: true` compares codes as staging cleans them.
    Nulls are not orphans when `nullable` (the default), and are otherwise.
    """

    column: str
    parent_table: str
    parent_column: str
    parent_state: Literal["current", "night"] = "current"
    nullable: bool = True
    clean: bool = False

    class Config:
        title = "Reference to a parent record"

    @classmethod
    def build_query(cls, values: dict) -> str:
        child = "b." + sql.ident(values["column"])
        table = sql.ident(values["parent_table"])
        column = sql.ident(values["parent_column"])
        night = "=" if values.get("parent_state", "current") == "night" else "<="
        # Anti-joins (a left join keeping the rows that found no parent), which PostgreSQL hashes
        # and spills to disk when the parent is large; `x is null or not exists (...)` became a
        # hashed subplan that must fit in memory and otherwise rescans the parent for every row.
        joins = (f" left join {table} as p on p.{column} = {child}"
                 f" and p._logical_date {night} {{logical_date}}")
        orphan = f"p.{column} is null"
        if values.get("clean"):
            # Compare as stored first; only keys that match nothing are compared cleaned (the
            # cleaned parents are hashed only if some row is left to compare).
            joins += (f" left join {table} as c on {sql.escape_braces(sql.clean_code(f'c.{column}'))}"
                      f" = {sql.escape_braces(sql.clean_code(child))} and c._logical_date {night} {{logical_date}}")
            orphan += f" and c.{column} is null"
        if values.get("nullable", True):
            orphan = f"{child} is not null and {orphan}"
        return f"select {_keys(values)}, {child} as value from {{batch}} as b{joins} where {orphan}"


class ExpectKeyToBeUniqueWithinNight(_GeneratedQuery):
    """No key (one or more columns) appears twice among the night's rows. Unexpected rows are the
    duplicated keys, with how many rows carry each."""

    columns: List[str]  # noqa: UP006

    class Config:
        title = "Key unique within the night"

    @classmethod
    def build_query(cls, values: dict) -> str:
        keys = ", ".join("b." + sql.ident(c) for c in values["columns"])
        grouped = f"select {keys}, count(*) as rows_with_key from {{batch}} as b"
        if len(values["columns"]) > 1:
            # Counting distinct keys of several columns sorts them as records: one hashed grouping
            # costs a third of that (social care's id and updated_at).
            return f"{grouped} group by {keys} having count(*) > 1"
        # Counting distinct values of one column is cheaper than grouping every key and keeping
        # the groups; the grouping that names the duplicates runs only when the counts differ.
        distinct = "d." + sql.ident(values["columns"][0])
        return (f"{grouped} where (select count(*) <> count(distinct {distinct}) from {{batch}} as d)"
                f" group by {keys} having count(*) > 1")


class ExpectNightVolumeWithinBand(_GeneratedQuery):
    """Tonight's rows against the rows loaded on the previous night for the same object.

    The previous night is the latest logical date before tonight with a `loaded` row in
    audit.load_log for `source_system` and an object ending in `object_suffix` (its newest run
    counts). Fails when tonight's rows fall more than `max_drop_share` below it or rise more
    than `max_rise_share` above it (either may be null: not checked). Nothing is compared when
    there is no previous night or it loaded fewer than `min_previous_rows` rows (too small to
    judge). The comparison is recorded as the observed value whether it passes or not.
    """

    source_system: str
    object_suffix: str
    max_drop_share: Optional[float] = None  # noqa: UP045
    max_rise_share: Optional[float] = None  # noqa: UP045
    min_previous_rows: int = 1

    class Config:
        title = "Night-over-night volume"

    @classmethod
    def build_query(cls, values: dict) -> str:
        drop, rise = values.get("max_drop_share"), values.get("max_rise_share")
        bounds = []
        if drop is not None:
            bounds.append(f"t.rows < p.rows * (1 - {float(drop)!r})")
        if rise is not None:
            bounds.append(f"t.rows > p.rows * (1 + {float(rise)!r})")
        outside = " or ".join(bounds) or "false"
        suffix = str(values["object_suffix"])
        # Every comparison row is returned (so the observed value is kept); _validate counts the
        # rows outside the band.
        return (
            "select t.rows as rows_tonight, p.logical_date as previous_night, p.rows as rows_previous,"
            " round(100.0 * (t.rows - p.rows) / p.rows, 1) as change_percent,"
            f" ({outside}) as outside_band"
            " from (select count(*) as rows from {batch} as b) as t,"
            " (select l.logical_date, l.rows_loaded as rows from audit.load_log as l"
            f" where l.source_system = {sql.literal(values['source_system'])} and l.status = 'loaded'"
            f" and right(l.object, {len(suffix)}) = {sql.escape_braces(sql.literal(suffix))}"
            " and l.logical_date < {logical_date}"
            " order by l.logical_date desc, l.finished_at desc limit 1) as p"
            f" where p.rows >= {int(values.get('min_previous_rows', 1))} and p.rows > 0"
        )

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None):
        comparison = metrics[UnexpectedRowsSummary.metric_name]["sample"]
        outside = [row for row in comparison if row.get("outside_band")]
        observed = comparison[0] if comparison else {"previous_night": None}
        return {
            "success": not outside,
            "result": {
                "observed_value": observed,
                "element_count": int(metrics.get("table.row_count") or 0),
                "unexpected_count": len(outside),
                "details": {"sample": comparison},
            },
        }


class ExpectObjectToHoldRows(_GeneratedQuery):
    """The object's state as of tonight is not empty: for incremental objects, whose nightly
    delta may legitimately be empty, some row was landed on a night up to tonight."""

    table: str

    class Config:
        title = "Object holds rows"

    @classmethod
    def build_query(cls, values: dict) -> str:
        return (
            "select 'no rows landed on any night up to tonight' as problem where not exists"
            f" (select 1 from {sql.ident(values['table'])} as r where r._logical_date <= {{logical_date}})"
            " and not exists (select 1 from {batch} as b)"
        )


class ExpectJsonKeysToBePresent(_GeneratedQuery):
    """Schema of a JSON column: each key of `keys` is present in the rows' `column` object.

    Unexpected rows are the keys missing from more than `max_missing_share` of the night's rows
    (a renamed or dropped field); a key may be present with a null value.
    """

    column: str
    keys: List[str]  # noqa: UP006
    max_missing_share: float = 0.0

    class Config:
        title = "JSON keys present"

    @classmethod
    def build_query(cls, values: dict) -> str:
        column = "b." + sql.ident(values["column"])
        keys = ", ".join(f"({sql.escape_braces(sql.literal(k))})" for k in values["keys"])
        missing = f"count(*) filter (where not coalesce(jsonb_typeof({column}) = 'object' and {column} ? k.key, false))"
        share = float(values.get("max_missing_share", 0.0))
        return (
            f"select k.key, {missing} as rows_missing, count(*) as rows_checked"
            f" from {{batch}} as b cross join (values {keys}) as k(key) group by k.key"
            f" having {missing} > {share!r} * count(*)"
        )


# --- schema ---------------------------------------------------------------------------------------

_TYPE_ALIASES = {
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "int8": "bigint",
    "int2": "smallint",
    "int4": "integer",
    "int": "integer",
    "bool": "boolean",
    "varchar": "character varying",
}


def _canonical_type(name: str) -> str:
    name = name.strip().lower()
    return _TYPE_ALIASES.get(name, name)


class ExpectBatchColumnsToMatchTypes(BatchExpectation):
    """Every column of `columns` ({name: PostgreSQL type}) is present with that type.

    Extra columns are allowed (adding a column breaks nothing downstream). Types are compared
    after the usual aliases (timestamptz = timestamp with time zone, int8 = bigint, ...).
    Checks the rows the suite validates, so it works on a query asset, where GX's built-in
    type expectation cannot see column types.
    """

    columns: Dict[str, str]  # noqa: UP006

    metric_dependencies: ClassVar[Tuple[str, ...]] = (BatchColumnTypes.metric_name,)  # noqa: UP006
    success_keys: ClassVar[Tuple[str, ...]] = ("columns",)  # noqa: UP006

    class Config:
        title = "Columns present with their types"

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None):
        actual = {name: kind for name, kind in metrics[BatchColumnTypes.metric_name]}
        missing = [c for c in self.columns if c not in actual]
        mistyped = [
            {"column": c, "expected": _canonical_type(t), "actual": actual[c]}
            for c, t in self.columns.items()
            if c in actual and _canonical_type(actual[c]) != _canonical_type(t)
        ]
        extra = [c for c in actual if c not in self.columns and not c.startswith("_")]
        return {
            "success": not missing and not mistyped,
            "result": {
                "observed_value": actual,
                "details": {"missing": missing, "mistyped": mistyped, "unexpected": extra},
            },
        }


CUSTOM_EXPECTATIONS = (
    ExpectUnexpectedRowsWithinThreshold,
    ExpectColumnValuesToBePresent,
    ExpectColumnValuesToBeValidIdentifier,
    ExpectColumnValuesToBeInCodeSet,
    ExpectColumnPairDatesToBeInOrder,
    ExpectColumnValuesToReferenceParent,
    ExpectKeyToBeUniqueWithinNight,
    ExpectNightVolumeWithinBand,
    ExpectObjectToHoldRows,
    ExpectJsonKeysToBePresent,
    ExpectBatchColumnsToMatchTypes,
)
