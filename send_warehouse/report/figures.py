"""The morning report's figures, read from the marts (pseudonymous: person_key, never names).

Each function answers one question of the report with one query, so a reader can check a figure
against the marts by running the same SQL in a BI tool as `bi_reader`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import psycopg

from send_warehouse.landing.tables import SOURCE_SYSTEMS

# DfE, "Education, health and care plans" 2025: England, plans issued in 2024 within 20 weeks,
# excluding exceptions (shared/domain.md).
NATIONAL_20_WEEK_PCT = 46.4
NATIONAL_LABEL = "England 2024"
TREND_MONTHS = 24
DQ_TREND_NIGHTS = 14


class MartsNotReady(RuntimeError):
    """The marts do not hold the night asked for (not built yet, or built for another night)."""


@dataclass
class Figures:
    as_of: date
    run: dict[str, Any] | None
    timeliness: list[dict[str, Any]]  # month, plans_issued_excl_exceptions, pct_within_20_weeks_excl_exceptions
    timeliness_12_months: dict[str, Any]  # plans, within, pct: plans issued in the 12 months to as_of
    open_clocks: list[dict[str, Any]]  # team, at_risk, breached
    out_of_education: list[dict[str, Any]]  # person_key, gap_type, gap_start, gap_days, compulsory_school_age
    overdue_reviews: list[dict[str, Any]]  # team, up_to_12_weeks, over_12_weeks
    data_quality: dict[str, Any] | None = None  # by_team, trend; None when the mart does not exist
    links: dict[str, str] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, Any]:
        """The headline numbers at the top of the page (and in `report --json`)."""
        totals = {
            "pct_within_20_weeks_12_months": self.timeliness_12_months["pct"],
            "open_at_risk": sum(r["at_risk"] for r in self.open_clocks),
            "open_breached": sum(r["breached"] for r in self.open_clocks),
            "children_out_of_education": len({r["person_key"] for r in self.out_of_education
                                              if r["gap_type"] != "part_time_timetable"}),
            "children_part_time": len({r["person_key"] for r in self.out_of_education
                                       if r["gap_type"] == "part_time_timetable"}),
            "reviews_overdue": sum(r["up_to_12_weeks"] + r["over_12_weeks"] for r in self.overdue_reviews),
        }
        if self.data_quality is not None:
            totals["data_quality_open"] = sum(r["errors"] + r["warnings"] for r in self.data_quality["by_team"])
        return totals

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "totals": self.totals}


def _rows(conn: psycopg.Connection, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [c.name for c in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _relation_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def _check_night(conn: psycopg.Connection, as_of: date) -> None:
    if not _relation_exists(conn, "marts.fct_ehc_requests"):
        raise MartsNotReady("the marts have not been built in this warehouse yet: run a night first "
                            f"(send-warehouse run --as-of {as_of} --simulate tiny, or make run)")
    built = conn.execute("select max(as_of_date) from marts.fct_annual_reviews").fetchone()[0]
    if built is not None and built != as_of:
        raise MartsNotReady(f"the marts hold the night of {built}, not {as_of}: report on --as-of {built}, "
                            f"or run that night first (send-warehouse run --as-of {as_of})")


def _run(conn: psycopg.Connection, as_of: date) -> dict[str, Any] | None:
    """The night's latest run. While it is still going (the report is written before `finish`
    closes the run), its status is judged as `finish` will judge it: failed if a stage failed or
    a source did not land."""
    if not _relation_exists(conn, "audit.run"):
        return None
    rows = _rows(conn, """select run_id, status, started_at, finished_at, message from audit.run
                          where logical_date = %s order by started_at desc limit 1""", (as_of,))
    if not rows:
        return None
    run = rows[0]
    if run["status"] == "running":
        failed = [r[0] for r in conn.execute(
            "select stage from audit.run_stage where run_id = %s and status = 'failed' order by stage",
            (run["run_id"],)).fetchall()]
        landed = {r[0] for r in conn.execute(
            "select source_system from audit.load_log where run_id = %s and status = 'loaded'",
            (run["run_id"],)).fetchall()}
        missing = [s for s in SOURCE_SYSTEMS if s not in landed]
        problems = [f"stage {s} failed" for s in failed] + [f"source {s} did not land" for s in missing]
        run["status"] = "failed" if problems else "success"
        run["message"] = "; ".join(problems) or None
    return run


def _timeliness(conn: psycopg.Connection, as_of: date) -> list[dict[str, Any]]:
    """The DfE headline month by month (all teams), for the TREND_MONTHS months up to as_of."""
    return _rows(conn, """
        select month, plans_issued_excl_exceptions, pct_within_20_weeks_excl_exceptions::float as pct
        from marts.rpt_timeliness_monthly
        where team = 'All' and month <= %s and month > (date_trunc('month', %s::date) - make_interval(months => %s))
        order by month""", (as_of, as_of, TREND_MONTHS))


def _timeliness_12_months(conn: psycopg.Connection, as_of: date) -> dict[str, Any]:
    """Plans issued in the 365 days to as_of, excluding exceptions and transfers-in, as DfE counts."""
    plans, within = conn.execute("""
        select count(*), count(*) filter (where issued_within_20_weeks)
        from marts.fct_ehc_requests
        where assessment_outcome = 'plan_issued' and not is_transfer_in and not exception_applies
          and outcome_date > %s::date - 365 and outcome_date <= %s""", (as_of, as_of)).fetchone()
    return {"plans": plans, "within": within, "pct": round(100.0 * within / plans, 1) if plans else None}


def _open_clocks(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(conn, """
        select team,
               count(*) filter (where status_20_week = 'open_at_risk') as at_risk,
               count(*) filter (where status_20_week = 'open_breached') as breached
        from marts.fct_ehc_requests
        where status_20_week in ('open_at_risk', 'open_breached') and not is_transfer_in
        group by team order by count(*) desc, team""")


def _out_of_education(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(conn, """
        select person_key, gap_type, gap_start, gap_days, compulsory_school_age, preceding_end_reason
        from marts.fct_education_gaps where is_open
        order by gap_days desc, person_key""")


def _overdue_reviews(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(conn, """
        select team,
               count(*) filter (where days_overdue <= 84) as up_to_12_weeks,
               count(*) filter (where days_overdue > 84) as over_12_weeks
        from marts.fct_annual_reviews
        where is_open and days_overdue > 0
        group by team order by count(*) desc, team""")


def _data_quality(conn: psycopg.Connection, as_of: date) -> dict[str, Any] | None:
    """Open exceptions by owning team and the open count night by night; None until the mart exists."""
    if not _relation_exists(conn, "marts.fct_data_quality_exceptions"):
        return None
    by_team = _rows(conn, """
        select coalesce(owning_team, 'unassigned') as team,
               count(*) filter (where severity = 'error') as errors,
               count(*) filter (where severity <> 'error') as warnings
        from marts.fct_data_quality_exceptions where status <> 'resolved'
        group by 1 order by count(*) desc, 1""")
    by_rule = _rows(conn, """
        select rule_code, count(*) as open from marts.fct_data_quality_exceptions
        where status <> 'resolved' group by 1 order by 2 desc, 1""")
    trend = _rows(conn, """
        select night::date as night, count(e.exception_key) as open
        from generate_series(%s::date - %s + 1, %s::date, interval '1 day') as night
        left join marts.fct_data_quality_exceptions e on e.first_seen <= night and e.last_seen >= night
        group by night order by night""", (as_of, DQ_TREND_NIGHTS, as_of))
    return {"by_team": by_team, "by_rule": by_rule, "trend": trend}


def read_figures(conn: psycopg.Connection, as_of: date) -> Figures:
    _check_night(conn, as_of)
    return Figures(
        as_of=as_of,
        run=_run(conn, as_of),
        timeliness=_timeliness(conn, as_of),
        timeliness_12_months=_timeliness_12_months(conn, as_of),
        open_clocks=_open_clocks(conn),
        out_of_education=_out_of_education(conn),
        overdue_reviews=_overdue_reviews(conn),
        data_quality=_data_quality(conn, as_of),
    )
