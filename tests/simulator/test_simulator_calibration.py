"""The simulated areas look like the real ones (DfE's published figures in domain.md).

The council check runs a whole Norfolk-sized area once (about ten seconds); everything else uses
that run's files.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from send_warehouse.simulator import simulate

AS_OF = date(2026, 11, 24)
NATIONAL_NEEDS = {"ASD": 31.5, "SLCN": 21.3, "SEMH": 20.7, "MLD": 10.6, "SLD": 4.0, "PD": 3.9, "SPLD": 2.3}


class Area:
    def __init__(self, out: Path):
        self.out = out
        self.manifest = json.loads((out / "manifest.json").read_text())
        self.con = sqlite3.connect(out / "casework.sqlite")
        self.requests = list(csv.DictReader((out / "ground_truth" / "requests.csv").open(encoding="utf-8")))
        night = self.manifest["nights"][-1]
        self.pupils = self.manifest["counts"]["education"][night]["pupils.csv"]["rows"]
        self.active = self.con.execute(
            "select count(*) from cw_plan where ceased_date is null").fetchone()[0]

    def needs(self) -> dict[str, float]:
        rows = self.con.execute("select primary_need, count(*) from cw_plan where ceased_date is null group by 1")
        return {need: 100 * n / self.active for need, n in rows}

    def year(self, year: int) -> dict[str, float]:
        y = str(year)
        issued = [r for r in self.requests if r["outcome_date"].startswith(y)
                  and r["assessment_outcome"] == "plan_issued" and r["is_transfer_in"] == "false"]
        excl = [r for r in issued if r["exception_applies"] == "false"]
        decided = [r for r in self.requests if r["decision_date"].startswith(y)
                   and r["decision"] in ("assess", "not_assess")]
        return {
            "requests": sum(r["received_date"].startswith(y) and r["is_transfer_in"] == "false"
                            for r in self.requests),
            "new_plans": len(issued),
            "within_20": 100 * sum(r["issued_within_20_weeks"] == "true" for r in excl) / len(excl),
            "decided_6": 100 * sum(r["decided_within_6_weeks"] == "true" for r in decided) / len(decided),
            "refused": 100 * sum(r["decision"] == "not_assess" for r in decided) / len(decided),
        }


@pytest.fixture(scope="module")
def council(tmp_path_factory) -> Area:
    out = tmp_path_factory.mktemp("council")
    simulate("council", seed=1, out=out, nights=1, as_of=AS_OF)
    return Area(out)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Area:
    out = tmp_path_factory.mktemp("tiny")
    simulate("tiny", seed=2, out=out, nights=1, as_of=AS_OF)
    return Area(out)


def test_tiny_is_small_but_complete(tiny):
    assert 100 <= tiny.active <= 230
    assert 1_200 <= tiny.pupils <= 1_900
    assert 100 <= tiny.manifest["socialcare_children"] <= 500


def test_council_is_norfolk_sized(council):
    assert 10_500 <= council.active <= 13_500  # Norfolk: 12,147 plans in January 2025
    assert 9 <= council.pupils / council.active <= 13  # every pupil, about ten per plan
    y = council.year(2024)
    assert 2_200 <= y["requests"] <= 2_900  # Norfolk 2024: 2,562
    assert 1_400 <= y["new_plans"] <= 2_200  # Norfolk 2024: 2,031
    assert 50 <= y["within_20"] <= 62  # Norfolk 2024: 56.3%
    assert 80 <= y["decided_6"] <= 90  # England 2024: 84.8%
    assert 21 <= y["refused"] <= 29  # England 2024: 25.2%


def test_council_needs_follow_the_national_mix(council):
    needs = council.needs()
    for need, share in NATIONAL_NEEDS.items():
        assert abs(needs.get(need, 0) - share) < 2.0, (need, needs.get(need))


def test_council_open_requests_run_every_20_week_status(council):
    statuses = Counter(r["status_20_week"] for r in council.requests)
    assert statuses["open_on_track"] > statuses["open_at_risk"] > 50
    assert statuses["open_breached"] > 50
    assert 0.3 < statuses["met"] / (statuses["met"] + statuses["missed"]) < 0.7


def test_council_social_care_overlaps_plan_holders(council):
    persons = list(csv.DictReader((council.out / "ground_truth" / "persons.csv").open(encoding="utf-8")))
    casework = {p["child_id"] for p in persons if p["source_system"] == "casework"}
    socialcare = {p["child_id"] for p in persons if p["source_system"] == "socialcare"}
    share = len(casework & socialcare) / len(casework)
    assert 0.15 < share < 0.35  # a realistic share of children with EHC requests are known to social care
    assert len(socialcare - casework) > 3 * len(casework & socialcare)  # most social care children are not SEND
