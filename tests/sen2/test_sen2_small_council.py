"""SEN2 from a hand-checked small council: hand-made raw rows of one night in a real PostgreSQL,
built by the real dbt models (staging, identity, timeliness marts), then `send-warehouse sen2`.

Collection 2026: activity 1 January - 31 December 2025, reference date Thursday 15 January 2026.

  Amy    request 10 in 2025, plan issued in 133 days (within 20 weeks), in a school: the plain case
  Ben    aged 3, no UPN: UN1; plan issued late with a recorded exception (Week20 1), early years
  Cara   transferred in from LA 935 (H, H, TransferLA); her plan names a school and a setting code
  Dan    plan from 2019 (H, H); needs MLD twice; review decided before its meeting; UPN with a wrong
         check letter and no pupil record; ethnicity not recorded
  Eve    refused assessment in 2025; who made the request not recorded
  Finn   request received in November 2025, undecided at the year's end (A)
  Gail   plan from 2018 ceased in July 2025 (reason 4): a NamedPlan with a cease date, no ActivePlans
  Hal    request refused in 2023: outside the return
  Ivy    request received in 2025 with its decision keyed a year before it: Y, and a date-order failure
  Jo     plan from 2020, moving to secondary school in September 2025: phase transfer due 15 February
         2025, amended plan finalised 10 February 2025 at her review
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree

from send_warehouse import transform
from send_warehouse.cli import main
from send_warehouse.sen2.xml import validate
from send_warehouse.simulator.identifiers import upn_check_letter
from tests.raw_rows import dbt_warehouse, land_rows

NIGHT = "2026-02-02"
TS = datetime(2026, 2, 1, 9, 0)


def upn(body: str) -> str:
    return upn_check_letter(body) + body


U_AMY, U_CARA, U_EVE, U_FINN, U_GAIL, U_HAL, U_IVY, U_JO = (upn(f"92600000{n:04d}") for n in range(1, 9))
U_DAN_WRONG = next(c for c in "ABCDEFGHJKLMNPQRTUVWXYZ" if c != upn("926000000099")[0]) + "926000000099"

PERSONS = [  # person_id, upn, uln, forename, surname, dob, sex, postcode, ethnicity, updated_at
    (1, U_AMY, None, "Amy", "O'Neil", date(2015, 3, 1), "F", "NR1 1AA", "WBRI", TS),
    (2, None, None, "Ben", "Ash", date(2022, 3, 1), "M", "NR2 2BB", "WBRI", TS),
    (3, U_CARA, None, "Cara", "Bell", date(2012, 5, 5), "F", "NR3 3CC", "ABAN", TS),
    (4, U_DAN_WRONG, None, "Dan", "Cole", date(2010, 7, 7), "M", "NR4 4DD", None, TS),
    (5, U_EVE, None, "Eve", "Dale", date(2014, 9, 9), "F", "NR5 5EE", "WIRI", TS),
    (6, U_FINN, None, "Finn", "East", date(2016, 1, 2), "M", "NR6 6FF", "WBRI", TS),
    (7, U_GAIL, None, "Gail", "Ford", date(2005, 2, 3), "F", "NR7 7GG", "WBRI", TS),
    (8, U_HAL, None, "Hal", "Gray", date(2013, 4, 4), "M", "NR8 8HH", "WBRI", TS),
    (9, U_IVY, None, "Ivy", "Hunt", date(2011, 6, 6), "F", "NR9 9JJ", "WBRI", TS),
    (10, U_JO, None, "Jo", "Irwin", date(2013, 10, 1), "F", "NR10 1KK", "WBRI", TS),
]
D = date
REQUESTS = [  # id, person, received, source, decided, decision, outcome, outcome date, draft, exception, from, team
    (10, 1, D(2025, 1, 6), 1, D(2025, 2, 10), "Y", "Y", D(2025, 5, 19), None, None, None, "North", TS),
    (20, 2, D(2025, 3, 3), 2, D(2025, 4, 7), "Y", "Y", D(2025, 10, 20), None, "PERSONAL", None, "South", TS),
    (30, 3, D(2023, 6, 1), 2, D(2023, 7, 3), "Y", "Y", D(2023, 11, 1), None, None, "935", "North", TS),
    (40, 4, D(2019, 1, 7), 1, D(2019, 2, 11), "Y", "Y", D(2019, 5, 20), None, None, None, "North", TS),
    (50, 5, D(2025, 6, 2), None, D(2025, 7, 7), "N", None, None, None, None, None, "South", TS),
    (60, 6, D(2025, 11, 3), 1, None, None, None, None, None, None, None, "North", TS),
    (70, 7, D(2018, 1, 8), 2, D(2018, 2, 12), "Y", "Y", D(2018, 5, 21), None, None, None, "Post-16", TS),
    (80, 8, D(2023, 1, 9), 1, D(2023, 2, 13), "N", None, None, None, None, None, "North", TS),
    (90, 9, D(2025, 9, 1), 2, D(2024, 9, 1), "Y", None, None, None, None, None, "South", TS),
    (95, 10, D(2019, 9, 2), 2, D(2019, 10, 7), "Y", "Y", D(2020, 1, 20), None, None, None, "North", TS),
]
PLANS = [  # id, person, request, issued, primary, secondary, urn, setting, ceased, reason, updated_at
    (100, 1, 10, D(2025, 5, 19), "ASD", "SLCN", 100001, None, None, None, TS),
    (200, 2, 20, D(2025, 10, 20), "SLCN", None, None, "EYP", None, None, TS),
    (300, 3, 30, D(2025, 4, 1), "SEMH", None, 100002, "OTH", None, None, TS),
    (400, 4, 40, D(2019, 5, 20), "MLD", "MLD", 100001, None, None, None, TS),
    (700, 7, 70, D(2018, 5, 21), "PD", None, 100002, None, D(2025, 7, 31), 4, TS),
    (950, 10, 95, D(2020, 1, 20), "SPLD", None, 100003, None, None, None, TS),
]
REVIEWS = [  # id, plan, due, meeting, decision, outcome, amended, updated_at
    (4000, 400, D(2025, 5, 20), D(2025, 5, 1), D(2025, 4, 20), "M", None, TS),
    (9500, 950, D(2025, 1, 20), D(2024, 11, 15), D(2024, 11, 29), "A", D(2025, 2, 10), TS),
]
PUPILS = [  # ref, upn, uln, forename, surname, dob, gender, postcode, sen
    ("P1", U_AMY, None, "Amy", "O'Neil", D(2015, 3, 1), "F", "NR1 1AA", "E"),
    ("P3", U_CARA, None, "Cara", "Bell", D(2012, 5, 5), "F", "NR3 3CC", "E"),
    ("P5", U_EVE, None, "Eve", "Dale", D(2014, 9, 9), "F", "NR5 5EE", "K"),
    ("P6", U_FINN, None, "Finn", "East", D(2016, 1, 2), "M", "NR6 6FF", "K"),
    ("P9", U_IVY, None, "Ivy", "Hunt", D(2011, 6, 6), "F", "NR9 9JJ", "K"),
    ("P10", U_JO, None, "Jo", "Irwin", D(2013, 10, 1), "F", "NR10 1KK", "E"),
]
PLACEMENTS = [  # id, ref, urn, setting, start, end, reason, hours, dual
    ("PL1", "P1", 100001, None, D(2019, 9, 1), None, None, None, "N"),
    ("PL3", "P3", 100002, None, D(2025, 4, 22), None, None, None, "N"),
    ("PL3B", "P3", 100001, None, D(2025, 9, 1), D(2026, 7, 20), None, None, "Y"),
    ("PL10", "P10", 100003, None, D(2025, 9, 3), None, None, None, "N"),
]
ESTABLISHMENTS = [(100001, "Oak Primary", "MAINSTREAM", "PRIMARY", "926"),
                  (100002, "Elm Special", "SPECIAL", "ALL_THROUGH", "926"),
                  (100003, "Ash High", "MAINSTREAM", "SECONDARY", "926")]
ROWS = {
    ("casework", "cw_person"): PERSONS, ("casework", "cw_request"): REQUESTS, ("casework", "cw_plan"): PLANS,
    ("casework", "cw_review"): REVIEWS, ("casework", "cw_document"): [], ("education", "pupils"): PUPILS,
    ("education", "placements"): PLACEMENTS, ("education", "establishments"): ESTABLISHMENTS,
    ("socialcare", "children"): [],
}


@pytest.fixture(scope="module")
def council(new_database, tmp_path_factory: pytest.TempPathFactory) -> dict:
    url, dirs = dbt_warehouse(new_database, tmp_path_factory.mktemp("sen2-dbt"), "sen2")
    land_rows(url, NIGHT, "r1", ROWS)
    night = {"as_of_date": NIGHT, "run_id": "t1"}
    # One dbt invocation: the name-variant seed, staging, identity and the timeliness marts (no tests).
    outcome = transform.run_dbt(["build", "--resource-type", "seed", "--resource-type", "model", "--select",
                                 "tag:casework", "tag:education", "tag:socialcare", "tag:identity",
                                 "fct_ehc_requests", "rpt_timeliness_monthly", "+fct_phase_transfers"],
                                url, night, **dirs)
    assert outcome.success, outcome
    out = tmp_path_factory.mktemp("sen2-out") / "sen2_2026.xml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", url)
        code = main(["sen2", "--year", "2026", "--la", "926", "--out", str(out), "--quiet"])
    assert code == 0
    persons = {p.findtext("Forename"): p for p in etree.parse(str(out)).iterfind("Persons/Person")}
    with Path(str(out).replace(".xml", "_report.csv")).open(encoding="utf-8") as f:
        failures = list(csv.DictReader(f))
    return {"url": url, "xml": out, "persons": persons, "failures": failures}


def texts(element, path: str) -> list[str | None]:
    return [e.text for e in element.iterfind(path)]


def test_the_return_validates_and_holds_the_children_in_scope(council):
    assert validate(council["xml"]) == []
    assert sorted(council["persons"]) == ["Amy", "Ben", "Cara", "Dan", "Eve", "Finn", "Gail", "Ivy", "Jo"]  # no Hal
    header = etree.parse(str(council["xml"])).find("Header")
    assert header.findtext("CollectionDetails/Year") == "2026"
    assert header.findtext("CollectionDetails/ReferenceDate") == "2026-01-15"
    assert header.findtext("Source/LEA") == "926"


def test_amy_the_plain_case(council):
    amy = council["persons"]["Amy"]
    assert [c.tag for c in amy] == ["Surname", "Forename", "PersonBirthDate", "Sex", "Ethnicity", "PostCode",
                                    "UPN", "Requests"]
    assert amy.findtext("UPN") == U_AMY and amy.find("UPNunknown") is None
    r = amy.find("Requests")
    assert [c.tag for c in r] == ["ReceivedDate", "RequestSource", "RequestOutcomeDate", "RequestOutcome",
                                  "Assessment", "ActivePlans"]
    assert (r.findtext("RequestOutcome"), r.findtext("RequestOutcomeDate")) == ("Y", "2025-02-10")
    a = r.find("Assessment")
    assert (a.findtext("AssessmentOutcome"), a.findtext("AssessmentOutcomeDate"), a.findtext("Week20")) == \
        ("Y", "2025-05-19", "0")
    assert a.findtext("NamedPlan/StartDate") == "2025-05-19"
    assert a.findtext("NamedPlan/PlanDetail/URN") == "100001"
    ap = r.find("ActivePlans")
    assert texts(ap, "PlacementDetail/URN") == ["100001"] and ap.findtext("PlacementDetail/EntryDate") == "2019-09-01"
    assert [(n.findtext("SENtype"), n.findtext("SENtypeRank")) for n in ap.iterfind("SENneed")] == \
        [("ASD", "1"), ("SLCN", "2")]


def test_ben_upn_unknown_exception_and_early_years(council):
    ben = council["persons"]["Ben"]
    assert ben.find("UPN") is None and ben.findtext("UPNunknown") == "UN1"
    a = ben.find("Requests/Assessment")
    assert (a.findtext("AssessmentOutcome"), a.findtext("Week20")) == ("Y", "1")
    assert a.findtext("NamedPlan/PlanDetail/SENSetting") == "EYP"
    assert ben.find("Requests/ActivePlans/PlacementDetail") is None


def test_cara_transferred_in(council):
    r = council["persons"]["Cara"].find("Requests")
    assert r.findtext("RequestOutcome") == "H" and r.findtext("Assessment/AssessmentOutcome") == "H"
    assert r.find("Assessment/Week20") is None
    ap = r.find("ActivePlans")
    assert ap.findtext("TransferLA") == "935"
    # main registration first, then the dual one; a leaving date after the reference date is not yet known
    assert texts(ap, "PlacementDetail/URN") == ["100002", "100001"]
    assert texts(ap, "PlacementDetail/PlacementRank") == ["1", "2"]
    assert ap.find("PlacementDetail/LeavingDate") is None


def test_dan_historical_plan_and_review(council):
    dan = council["persons"]["Dan"]
    assert dan.find("UPN") is None and dan.find("Ethnicity") is None
    r = dan.find("Requests")
    assert r.findtext("RequestOutcome") == "H" and r.findtext("Assessment/AssessmentOutcome") == "H"
    ap = r.find("ActivePlans")
    assert (ap.findtext("ReviewMeeting"), ap.findtext("LastReview"), ap.findtext("ReviewOutcome")) == \
        ("2025-05-01", "2025-04-20", "M")


def test_eve_finn_gail_ivy(council):
    eve = council["persons"]["Eve"].find("Requests")
    assert eve.findtext("RequestOutcome") == "N" and eve.find("Assessment") is None
    assert eve.find("RequestSource") is None
    finn = council["persons"]["Finn"].find("Requests")
    assert finn.findtext("RequestOutcome") == "A" and finn.find("RequestOutcomeDate") is None
    gail = council["persons"]["Gail"].find("Requests")
    assert gail.findtext("Assessment/NamedPlan/CeaseDate") == "2025-07-31"
    assert gail.findtext("Assessment/NamedPlan/CeaseReason") == "4" and gail.find("ActivePlans") is None
    ivy = council["persons"]["Ivy"].find("Requests")
    assert (ivy.findtext("RequestOutcome"), ivy.findtext("RequestOutcomeDate")) == ("Y", "2024-09-01")


def test_jo_phase_transfer(council):
    r = council["persons"]["Jo"].find("Requests")
    assert (r.findtext("RequestOutcome"), r.findtext("Assessment/AssessmentOutcome")) == ("H", "H")
    ap = r.find("ActivePlans")
    assert (ap.findtext("PhaseTransferDueDate"), ap.findtext("PhaseTransferFinalDate")) == ("2025-02-15", "2025-02-10")
    assert ap.find("ReviewMeeting") is None  # the review met in November 2024
    assert [c.tag for c in ap] == ["PlacementDetail", "SENneed", "PhaseTransferDueDate", "PhaseTransferFinalDate"]


def test_the_report_lists_exactly_the_problems(council):
    found = sorted((f["child"].split(",")[0], f["rule_code"], f["item"], f["source_record_id"])
                   for f in council["failures"])
    assert found == sorted([
        ("Cole", "DATE_ORDER", "LastReview", "4000"),
        ("Cole", "IDENTIFIER", "UPN", "4"),
        ("Cole", "REQUIRED_ITEM", "Ethnicity", "4"),
        ("Cole", "SEN_NEEDS", "SENtype", "400"),
        ("Bell", "ONE_SETTING", "URN/UKPRN/SENSetting", "300"),
        ("Dale", "REQUIRED_ITEM", "RequestSource", "50"),
        ("Hunt", "DATE_ORDER", "RequestOutcomeDate", "90"),
    ])
    assert all(f["message"] for f in council["failures"])
    html = Path(str(council["xml"]).replace(".xml", "_report.html")).read_text(encoding="utf-8")
    assert "7 failures for 4 children" in html and "RequestMediation" in html


def test_module_csvs_carry_what_the_xml_carries(council):
    stem = str(council["xml"]).removesuffix(".xml")
    with open(f"{stem}_requests.csv", encoding="utf-8") as f:
        requests = {r["casework_request_id"]: r for r in csv.DictReader(f)}
    assert sorted(map(int, requests)) == [10, 20, 30, 40, 50, 60, 70, 90, 95]
    assert requests["60"]["RequestOutcome"] == "A" and requests["50"]["RequestSource"] == ""
    with open(f"{stem}_senneed.csv", encoding="utf-8") as f:
        needs = [(r["casework_plan_id"], r["SENtype"], r["SENtypeRank"]) for r in csv.DictReader(f)]
    assert ("100", "ASD", "1") in needs and ("400", "MLD", "2") in needs


def test_counts_from_the_xml_equal_the_marts(council, capsys):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_URL", council["url"])
        code = main(["sen2", "--year", "2026", "--la", "926", "--out", str(council["xml"]), "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["reconciles"]
    assert {k: summary["figures"][k] for k in summary["marts"]} == summary["marts"] == {
        "requests_received": 5, "plans_issued": 2, "plans_issued_excl_exceptions": 1,
        "within_20_weeks_excl_exceptions": 1, "pct_within_20_weeks_excl_exceptions": 100.0}
