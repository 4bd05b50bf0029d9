"""fct_data_quality_exceptions over three nights of hand-made raw rows in a real PostgreSQL,
built by real dbt, and the digests those nights send to a real local SMTP server and webhook.

Night 1 holds one record per rule: a wrong UPN check letter (casework person 2), a request
decided before it was received (request 30), a plan with no FINAL_PLAN document (plan 300),
a misnamed and a misfiled document (1001, 1002), a child with an active plan and no pupil
record (casework person 3) and a bad NHS number (social care child LCS-1). Night 2 adds a
malformed UPN (casework person 4). Night 3 corrects person 2's UPN. Night 2 is then run again:
the rerun must give the same keys and statuses as the first time.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from send_warehouse import transform
from send_warehouse.alerts import AlertSettings, send_digests
from tests.alert_receivers import smtp_server, webhook_server
from tests.identity.test_identity import child, nhs, upn, wrong_letter
from tests.raw_rows import dbt_warehouse, land_rows, query

NIGHT_1, NIGHT_2, NIGHT_3 = "2026-11-22", "2026-11-23", "2026-11-24"
TS, TS2, TS3 = datetime(2026, 11, 20, 9), datetime(2026, 11, 22, 15), datetime(2026, 11, 23, 15)
SELECT = ["tag:casework", "tag:education", "tag:socialcare", "tag:identity",
          "path:seeds/quality", "path:models/intermediate/quality", "path:models/marts/quality"]

U_AMY, U_BEN, U_DAN = upn("926000000011"), upn("926000000022"), upn("926000000033")
BAD_NHS = nhs("943476587")[:-1] + str((int(nhs("943476587")[-1]) + 1) % 10)

PERSONS_1 = [
    (1, U_AMY, None, "Amy", "Stone", date(2015, 3, 1), "F", "NR1 1AA", "WBRI", TS),
    (2, wrong_letter(U_BEN), None, "Ben", "Hart", date(2014, 6, 10), "M", "NR2 2BB", "WBRI", TS),
    (3, None, None, "Cara", "Lowe", date(2013, 2, 3), "F", "NR3 3CC", None, TS),
]
REQUESTS = [
    (10, 1, date(2025, 1, 6), 1, date(2025, 2, 10), "Y", "Y", date(2025, 5, 19), None, None, None, "North", TS),
    (20, 2, date(2026, 9, 1), 2, None, None, None, None, None, None, None, "South", TS),
    (30, 3, date(2025, 3, 3), 2, date(2025, 2, 7), "Y", "Y", date(2025, 7, 14), None, None, None, "West", TS),
]
PLANS = [
    (100, 1, 10, date(2025, 5, 19), "ASD", None, 100001, None, None, None, TS),
    (300, 3, 30, date(2025, 7, 14), "SLCN", None, None, "OLA", None, None, TS),
]
DOCUMENTS = [
    (1000, 1, 10, "FINAL_PLAN", f"{U_AMY}_FINAL_PLAN_20250519.pdf", datetime(2025, 5, 19, 10), None),
    (1001, 1, 10, "DECISION_LETTER", "Scan_2025-02-10.pdf", datetime(2025, 2, 10, 10), None),
    (1002, 1, None, "OTHER", "2_OTHER_20250301.pdf", datetime(2025, 3, 1, 10), None),
]
PUPILS = [
    ("P1", U_AMY, None, "Amy", "Stone", date(2015, 3, 1), "F", "NR1 1AA", "E"),
    ("P2", U_BEN, None, "Ben", "Hart", date(2014, 6, 10), "M", "NR2 2BB", "N"),
]
EDUCATION = {
    ("education", "pupils"): PUPILS,
    ("education", "placements"): [("PL1", "P1", 100001, None, date(2019, 9, 1), None, None, None, "N")],
    ("education", "establishments"): [(100001, "Oak Primary", "MAINSTREAM", "PRIMARY", "926")],
}
NO_CASEWORK_CHANGES = {("casework", t): [] for t in ("cw_person", "cw_request", "cw_plan", "cw_review", "cw_document")}

NIGHTS = {
    NIGHT_1: {
        ("casework", "cw_person"): PERSONS_1, ("casework", "cw_request"): REQUESTS, ("casework", "cw_plan"): PLANS,
        ("casework", "cw_review"): [(30, 100, date(2026, 5, 19), date(2026, 5, 1), date(2026, 4, 20), "M", None, TS)],
        ("casework", "cw_document"): DOCUMENTS, **EDUCATION,
        ("socialcare", "children"): [
            child("LCS-1", "2026-11-20T09:00:00+00:00", [], nhs_number=BAD_NHS, first_name="Amy", last_name="Stone",
                  date_of_birth="2015-03-01", gender="female", postcode="NR1 1AA")],
    },
    NIGHT_2: {
        **NO_CASEWORK_CHANGES, **EDUCATION, ("socialcare", "children"): [],
        ("casework", "cw_person"): [(4, U_DAN[:-1], None, "Dan", "Moss", date(2016, 1, 2), "M", "NR4 4DD", None, TS2)],
        ("casework", "cw_document"): DOCUMENTS,  # read whole every night
    },
    NIGHT_3: {
        **NO_CASEWORK_CHANGES, **EDUCATION, ("socialcare", "children"): [],
        ("casework", "cw_person"): [(2, U_BEN, None, "Ben", "Hart", date(2014, 6, 10), "M", "NR2 2BB", "WBRI", TS3)],
        ("casework", "cw_document"): DOCUMENTS,
    },
}


def build(url: str, night: str, dirs: dict[str, Path], command: str = "run") -> None:
    if command == "build":
        transform.build(SELECT, night, f"t-{night}", url, **dirs)
    else:
        transform.run_dbt(["run", "--select", *SELECT], url, {"as_of_date": night, "run_id": f"t-{night}"}, **dirs)


def exceptions(url: str) -> dict[tuple[str, str, str, str], tuple]:
    """(rule, system, record id, kind of record named by the message) -> the mart's row."""
    return {(r[1], r[2], r[3], re.match(r"(?:Casework|Education|Social care) (\w+)", r[10]).group(1)): r
            for r in query(url, """
        select exception_key, rule_code, source_system, source_record_id, status, first_seen::text, last_seen::text,
               owning_team, severity, person_key is not null, message
        from marts.fct_data_quality_exceptions""")}


@pytest.fixture(scope="module")
def nights(new_database, tmp_path_factory: pytest.TempPathFactory) -> dict:
    mp = pytest.MonkeyPatch()
    mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
    url, dirs = dbt_warehouse(new_database, tmp_path_factory.mktemp("dbt"), "quality")
    states = {}
    land_rows(url, NIGHT_1, "r1", NIGHTS[NIGHT_1])
    build(url, NIGHT_1, dirs, command="build")  # seeds, models and their data tests
    states["n1"] = exceptions(url)
    land_rows(url, NIGHT_2, "r2", NIGHTS[NIGHT_2])
    build(url, NIGHT_2, dirs)
    states["n2"] = exceptions(url)
    with smtp_server() as smtp, webhook_server() as hook:
        env = {"SEND_ALERT_SMTP_HOST": smtp.host, "SEND_ALERT_SMTP_PORT": str(smtp.port),
               "SEND_ALERT_WEBHOOK_URL": hook.url, "SEND_ALERT_RETRY_DELAY_S": "0.01",
               "SEND_ALERT_TEAM_EMAILS": '{"North": "north@council.example", "*": "records@council.example"}'}
        states["sent"] = send_digests(url, date.fromisoformat(NIGHT_2), AlertSettings.from_env(env))
        named = {**env, "SEND_ALERT_INCLUDE_IDENTIFIABLE": "1",
                 "SEND_ALERT_TEAM_EMAILS": '{"*": "named@council.example"}'}
        states["identifiable"] = send_digests(url, date.fromisoformat(NIGHT_2), AlertSettings.from_env(named))
    states["smtp"], states["hook"] = smtp, hook
    land_rows(url, NIGHT_3, "r3", NIGHTS[NIGHT_3])
    build(url, NIGHT_3, dirs)
    states["n3"] = exceptions(url)
    build(url, NIGHT_2, dirs)  # an old night replayed after a later one
    states["n2_again"] = exceptions(url)
    states["history"] = query(url, """select as_of_date::text, count(*) from intermediate.int_quality__exception_history
                                      group by 1 order by 1""")
    mp.undo()
    return states


def statuses(state: dict) -> dict[tuple[str, str, str], str]:
    return {k: v[4] for k, v in state.items()}


NIGHT_1_RULES = {
    ("UPN_CHECK_LETTER", "casework", "2", "person"), ("DATE_ORDER", "casework", "30", "request"),
    ("DATE_ORDER", "casework", "30", "review"), ("FINAL_PLAN_DOCUMENT_MISSING", "casework", "300", "plan"),
    ("DOCUMENT_MISNAMED", "casework", "1001", "document"), ("DOCUMENT_MISFILED", "casework", "1002", "document"),
    ("UNLINKED_PERSON", "casework", "3", "person"), ("NHS_CHECK_DIGIT", "socialcare", "LCS-1", "child"),
}


def test_each_rule_fires_on_its_record_and_nothing_else(nights: dict) -> None:
    assert set(nights["n1"]) == NIGHT_1_RULES
    assert set(statuses(nights["n1"]).values()) == {"new"}


def test_statuses_move_new_open_resolved(nights: dict) -> None:
    n2, n3 = statuses(nights["n2"]), statuses(nights["n3"])
    new_upn = ("UPN_FORMAT", "casework", "4", "person")
    assert n2 == {**{k: "open" for k in NIGHT_1_RULES}, new_upn: "new"}
    assert n3 == {**{k: "open" for k in NIGHT_1_RULES | {new_upn}},
                  ("UPN_CHECK_LETTER", "casework", "2", "person"): "resolved"}
    resolved = nights["n3"][("UPN_CHECK_LETTER", "casework", "2", "person")]
    assert (resolved[5], resolved[6]) == (NIGHT_1, NIGHT_2)  # first_seen, last_seen
    # Keys never change across nights.
    assert {k: v[0] for k, v in nights["n1"].items()} == {k: nights["n3"][k][0] for k in nights["n1"]}
    # A request and a review numbered alike are two exceptions with two keys.
    assert nights["n1"][("DATE_ORDER", "casework", "30", "request")][0] != \
        nights["n1"][("DATE_ORDER", "casework", "30", "review")][0]


def test_a_night_run_twice_leaves_the_same_exceptions_keys_and_statuses(nights: dict) -> None:
    # Night 2 run again after night 3: the same rows, keys, statuses and first/last seen as the first time.
    assert nights["n2_again"] == nights["n2"]
    assert nights["history"] == [(NIGHT_1, 8), (NIGHT_2, 9), (NIGHT_3, 8)]


def test_owner_severity_and_messages(nights: dict) -> None:
    n1 = nights["n1"]
    assert n1[("DATE_ORDER", "casework", "30", "request")][7] == "West"  # the child's casework team
    assert n1[("DATE_ORDER", "casework", "30", "review")][7] == "North"
    assert n1[("NHS_CHECK_DIGIT", "socialcare", "LCS-1", "child")][7] == "Social care records"  # routing seed
    assert n1[("DOCUMENT_MISNAMED", "casework", "1001", "document")][8] == "warning"
    misfiled = n1[("DOCUMENT_MISFILED", "casework", "1002", "document")][10]
    assert "1002" in misfiled and "casework person 2" in misfiled
    for row in n1.values():
        assert "Amy" not in row[10] and "2015-03-01" not in row[10] and U_AMY not in row[10]


def test_digests_reach_each_team_by_email_and_webhook(nights: dict) -> None:
    sent, smtp, hook = nights["sent"], nights["smtp"], nights["hook"]
    assert sent["failed_deliveries"] == 0
    teams = set(sent["teams"])
    assert {"North", "West", "Social care records"} <= teams
    assert sent["teams"]["West"]["open"] == 3  # request 30, plan 300, person 3
    [north] = smtp.to("north@council.example")
    assert north["Subject"].startswith(f"SEND data quality {NIGHT_2} – North:")
    body = north.get_content()
    assert "DOCUMENT_MISFILED" in body and "1002" in body and "docs/data-quality-rules.md" in body
    # one webhook post per team per send, as a {"text": ...} body
    texts = [p["body"]["text"] for p in hook.posts]
    assert len(texts) == 2 * len(teams) and any("UPN_FORMAT" in t and " 4" in t for t in texts)
    # Names and dates of birth only when the council turns them on.
    plain = [m.get_content() for m in smtp.messages if "named@" not in m["To"]] + texts[:len(teams)]
    assert not any("Amy" in t or "2015-03-01" in t for t in plain)
    named = " ".join(m.get_content() for m in smtp.to("named@council.example"))
    assert "Amy Stone" in named and "born 2015-03-01" in named
