"""The SEN2 return of the tiny simulated council (the marts tests' night, built once per session;
the hand-checked council is tests/sen2/): it validates against the XSD, its pre-submission report
lists exactly the simulator's injected SEN2 problems that reach the return, and counts computed
from the XML equal the marts' figures for the same period.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from pathlib import Path

import psycopg
import pytest
from lxml import etree
from marts_night import Night

from send_warehouse.cli import main
from send_warehouse.sen2.collection import collection
from send_warehouse.sen2.injected import compare
from send_warehouse.sen2.xml import schema


def write_return(night: Night, year: int, out: Path) -> dict:
    """`send-warehouse sen2` against the night's warehouse, as an operator runs it; its JSON summary."""
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buffer):
        mp.setenv("WAREHOUSE_URL", night.url)
        code = main(["sen2", "--year", str(year), "--la", "926", "--out", str(out), "--quiet"])
    summary = json.loads(buffer.getvalue())
    assert code == 0, summary
    return summary


@pytest.fixture(scope="module")
def return_2026(tiny_night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return write_return(tiny_night, 2026, tmp_path_factory.mktemp("sen2") / "sen2_2026.xml")


def test_the_simulated_return_validates_against_the_xsd(return_2026: dict):
    tree = etree.parse(return_2026["files"]["xml"])
    assert schema().validate(tree), schema().error_log
    assert return_2026["xsd_valid"] and return_2026["figures"]["persons"] > 100
    assert return_2026["figures"]["active_plans"] > 50


def test_the_report_lists_exactly_the_injected_problems(tiny_night: Night, return_2026: dict):
    result = compare(tiny_night.url, tiny_night.folder, return_2026["files"], date.fromisoformat("2026-01-15"))
    assert result["missing"] == [] and result["unexpected"] == []
    # every kind of problem reaches a tiny council's return
    rules = {rule for rule, _, _ in result["expected"]}
    assert rules >= {"DATE_ORDER", "IDENTIFIER", "ONE_SETTING", "REQUIRED_ITEM", "SEN_NEEDS"}
    assert return_2026["failures"] >= len(result["expected"])


@pytest.mark.parametrize("year", [2025, 2026])
def test_counts_from_the_xml_equal_the_marts(tiny_night: Night, tmp_path: Path, year: int):
    summary = write_return(tiny_night, year, tmp_path / f"sen2_{year}.xml")
    tree = etree.parse(summary["files"]["xml"])
    c = collection(year, "926")
    start, end = c.period_start.isoformat(), c.period_end.isoformat()
    # counted here from the XML, independently of the report's own figures
    received = sum(1 for r in tree.iterfind("Persons/Person/Requests")
                   if start <= (r.findtext("ReceivedDate") or "") <= end and r.findtext("RequestOutcome") != "H")
    issued = [(r.findtext("ReceivedDate"), a.findtext("AssessmentOutcomeDate"), a.findtext("Week20"))
              for r in tree.iterfind("Persons/Person/Requests") for a in r.iterfind("Assessment")
              if a.findtext("AssessmentOutcome") == "Y" and start <= (a.findtext("AssessmentOutcomeDate") or "") <= end]
    excl = [(got, out) for got, out, week20 in issued if week20 != "1"]
    within = sum((date.fromisoformat(out) - date.fromisoformat(got)).days <= 140 for got, out in excl)
    with psycopg.connect(tiny_night.url) as conn:
        marts = conn.execute(
            "select sum(requests_received), sum(plans_issued), sum(plans_issued_excl_exceptions),"
            " sum(plans_within_20_weeks_excl_exceptions) from marts.rpt_timeliness_monthly"
            " where team = 'All' and month between %s and %s", (start, end)).fetchone()
        requests = conn.execute(
            "select count(*) from marts.fct_ehc_requests where received_date between %s and %s"
            " and not is_transfer_in", (start, end)).fetchone()[0]
    assert received > 0 and issued
    assert (received, len(issued), len(excl), within) == tuple(marts)
    assert received == requests
    assert summary["reconciles"] and summary["figures"]["pct_within_20_weeks_excl_exceptions"] == \
        round(100.0 * within / len(excl), 1)
