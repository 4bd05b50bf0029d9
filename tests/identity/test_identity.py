"""Identity resolution end to end: hand-made raw rows of two nights in a real PostgreSQL, built
through send_warehouse.transform (staging + tag:identity), read back from the intermediate
models and the people marts.

Night 1 holds the hard cases (twins, a swapped date of birth, Mohammed/Muhammad, a wrong UPN check
letter, two valid UPNs, a double-barrelled surname, a within-system duplicate, an ambiguous
initial) and one child per cross-system finding. Night 2 edits a record, adds a record of a known
child and a new child. Night 1 is then rebuilt after night 2 and must give the same answer.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from send_warehouse import transform
from tests.raw_rows import dbt_warehouse, land_rows, query

NIGHT_1 = "2026-11-23"
NIGHT_2 = "2026-11-24"
TS = datetime(2026, 11, 20, 9, 0)
TS2 = datetime(2026, 11, 23, 15, 0)
CHECK = "ABCDEFGHJKLMNPQRTUVWXYZ"
SELECT = ["tag:casework", "tag:education", "tag:socialcare", "tag:identity"]


def upn(body: str) -> str:
    """A valid permanent UPN for 12 digits (domain.md's check letter)."""
    return CHECK[sum(i * int(c) for i, c in enumerate(body, start=2)) % 23] + body


def wrong_letter(valid: str) -> str:
    return next(c for c in CHECK if c != valid[0]) + valid[1:]


def nhs(nine: str) -> str:
    """A valid NHS number from nine digits (modulus 11); the nine must not give check 10."""
    check = (11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11) % 11
    assert check != 10, nine
    return nine + str(check)


def child(child_id: str, updated_at: str, involvements: list[dict], **fields: object) -> tuple:
    payload = {"id": child_id, "updated_at": updated_at, "involvements": involvements, **fields}
    return (child_id, updated_at, json.dumps(payload))


U_AMY, U_JACK, U_JACOB, U_MO, U_LILY, U_OLLIE, U_OLIVER = (
    upn("926000000011"), upn("926000000022"), upn("926000000033"), upn("926000000044"),
    upn("926000000055"), upn("926000000066"), upn("926000000077"))
U_NOAH, U_ZARA, U_KAI = upn("926000000088"), upn("926000000099"), upn("926000000101")
NHS_AMY, NHS_ZARA = nhs("943476587"), nhs("401023456")
OPEN_CLA = [{"type": "CLA", "start_date": "2025-02-01", "end_date": None, "team": "Children in Care"}]

# cw_person: person_id, upn, uln, forename, surname, dob, sex, postcode, ethnicity, updated_at
CASEWORK_PERSONS_1 = [
    (1, U_AMY, None, "Amy", "O'Neil", date(2015, 3, 1), "F", "NR1 1AA", "WBRI", TS),
    (2, None, None, "Jack", "Smith", date(2015, 6, 10), "M", "NR2 2BB", "WBRI", TS),           # twin Jack
    (3, None, None, "Ben", "Ng", date(2014, 5, 6), "M", "NR3 3CC", "CHNE", TS),               # swapped DOB
    (4, None, None, "Mohammed", "Khan", date(2013, 2, 3), "M", "NR4 4DD", "APKN", TS),        # Mohammed
    (5, wrong_letter(U_LILY), None, "Lily", "Evans", date(2016, 9, 14), "F", "NR5 5EE", None, TS),
    (6, U_OLLIE, None, "Oliver", "Brown", date(2012, 1, 20), "M", "NR6 6FF", None, TS),       # valid UPN 1
    (7, None, None, "Grace", "Smith-Jones", date(2011, 7, 30), "F", "NR7 7GG", None, TS),     # double-barrelled
    (8, None, None, "Eve", "Ash", date(2016, 8, 9), "F", "NR8 8HH", None, TS),                # plan, no school
]
# cw_request: request_id, person_id, received, source, decision_date, decision, outcome, outcome_date,
#             draft, exception, transferred_in_from, team, updated_at
CASEWORK_REQUESTS = [
    (10, 1, date(2025, 1, 6), 1, date(2025, 2, 10), "Y", "Y", date(2025, 5, 19), None, None, None, "North", TS),
    (80, 8, date(2025, 3, 3), 2, date(2025, 4, 7), "Y", "Y", date(2025, 7, 14), None, None, None, "South", TS),
    (20, 2, date(2026, 9, 1), 2, None, None, None, None, None, None, None, "North", TS),
]
# cw_plan: plan_id, person_id, request_id, issued, primary, secondary, urn, setting, ceased, reason, updated_at
CASEWORK_PLANS = [
    (100, 1, 10, date(2025, 5, 19), "ASD", None, 100001, None, None, None, TS),
    (800, 8, 80, date(2025, 7, 14), "SLCN", None, None, "OLA", None, None, TS),
]
CASEWORK_REVIEWS = [(1000, 100, date(2026, 5, 19), date(2026, 5, 1), None, None, None, TS)]

# pupils: pupil_ref, upn, uln, forename, surname, dob, gender, postcode, sen_provision
PUPILS_1 = [
    ("P1", U_AMY, None, "AMY", "ONEIL", date(2015, 3, 1), "F", "nr11aa", "E"),
    ("P2", U_JACK, None, "Jack", "Smith", date(2015, 6, 10), "M", "NR2 2BB", "N"),
    ("P3", U_JACOB, None, "Jacob", "Smith", date(2015, 6, 10), "M", "NR2 2BB", "N"),
    ("P4", None, None, "Ben", "Ng", date(2014, 6, 5), "M", "NR3 3CC", "N"),
    ("P5", U_MO, None, "Muhammad", "Khan", date(2013, 2, 3), "M", "NR4 4DD", "K"),
    ("P6", U_LILY, None, "Lily", "Evans", date(2016, 9, 14), "F", "NR5 5EE", "N"),
    ("P7", U_OLIVER, None, "Oliver", "Brown", date(2012, 1, 20), "M", "NR6 6FF", "N"),
    ("P8", None, None, "Grace", "Smith", date(2011, 7, 30), "F", "NR7 7GG", "N"),
    ("P9", U_NOAH, None, "Noah", "Taylor", date(2014, 11, 2), "M", "NR9 9JJ", "N"),
    ("P10", U_NOAH[:-1], None, "Noah", "Taylor", date(2014, 11, 2), "M", "NR9 9JJ", "N"),   # duplicate pupil
    ("P11", U_KAI, None, "Kai", "Reid", date(2013, 4, 4), "M", "NR10 1KK", "E"),            # E, no plan
    ("P12", U_ZARA, None, "Zara", "Ali", date(2012, 12, 12), "F", "NR11 1LL", "E"),          # looked after
]
PLACEMENTS = [("PL1", "P1", 100001, None, date(2019, 9, 1), None, None, None, "N")]
ESTABLISHMENTS = [(100001, "Oak Primary", "MAINSTREAM", "PRIMARY", "926")]

CHILDREN_1 = [
    child("LCS-1", "2026-11-20T09:00:00+00:00", [], nhs_number=NHS_AMY, first_name="Amy",
          last_name="O’Neil", date_of_birth="2015-03-01", gender="female", postcode="NR1 1AA"),
    child("LCS-2", "2026-11-20T09:00:00+00:00", [], first_name="jacob", last_name="smith",
          date_of_birth="2015-06-10", gender="male", postcode="NR2 2BB"),
    child("LCS-3", "2026-11-20T09:00:00+00:00", OPEN_CLA, nhs_number=NHS_ZARA, upn=U_ZARA, first_name="Zara",
          last_name="Ali", date_of_birth="2012-12-12", gender="female", postcode="NR11 1LL"),
    # "J Smith", born on the twins' birthday at their address: could be either twin, so neither.
    child("LCS-5", "2026-11-20T09:00:00+00:00", [], first_name="J", last_name="Smith",
          date_of_birth="2015-06-10", gender="male", postcode="NR2 2BB"),
]

NIGHTS: dict[str, dict[tuple[str, str], list[tuple]]] = {
    NIGHT_1: {
        ("casework", "cw_person"): CASEWORK_PERSONS_1,
        ("casework", "cw_request"): CASEWORK_REQUESTS,
        ("casework", "cw_plan"): CASEWORK_PLANS,
        ("casework", "cw_review"): CASEWORK_REVIEWS,
        ("casework", "cw_document"): [],
        ("education", "pupils"): PUPILS_1,
        ("education", "placements"): PLACEMENTS,
        ("education", "establishments"): ESTABLISHMENTS,
        ("socialcare", "children"): CHILDREN_1,
    },
    NIGHT_2: {
        # Amy's casework record edited (surname); a new casework record of a new child.
        ("casework", "cw_person"): [
            (1, U_AMY, None, "Amy", "O'Neil-Smith", date(2015, 3, 1), "F", "NR1 1AA", "WBRI", TS2),
            (9, None, None, "Isla", "Moss", date(2017, 10, 21), "F", "NR12 2MM", None, TS2),
        ],
        ("casework", "cw_request"): [],
        ("casework", "cw_plan"): [],
        ("casework", "cw_review"): [],
        ("casework", "cw_document"): [],
        ("education", "pupils"): PUPILS_1,
        ("education", "placements"): PLACEMENTS,
        ("education", "establishments"): ESTABLISHMENTS,
        # Ben Ng becomes known to social care: the new record joins the known child.
        ("socialcare", "children"): [
            child("LCS-4", "2026-11-23T10:00:00+00:00", [], first_name="Benjamin", last_name="Ng",
                  date_of_birth="2014-05-06", gender="male", postcode="NR3 3CC"),
        ],
    },
}


def land(url: str, logical_date: str, run_id: str) -> None:
    land_rows(url, logical_date, run_id, NIGHTS[logical_date])


rows = query


def keys_by_record(url: str) -> dict[str, str]:
    return {f"{s}:{r}": k for k, s, r in rows(url, "select person_key, source_system, source_record_id"
                                                  " from marts.bridge_person_source")}


def state(url: str) -> dict:
    return {
        "keys": keys_by_record(url),
        "bridge": rows(url, """select person_key, source_system, source_record_id, link_rule, link_confidence
                                 from marts.bridge_person_source order by 2, 3"""),
        "gaps": rows(url, "select person_key, finding, details from marts.fct_cross_system_gaps order by 1, 2"),
        "dim": rows(url, "select * from marts.dim_person order by person_key"),
        "review": rows(url, "select record_uid_l, record_uid_r, reason from intermediate.int_identity__review_queue"
                            " order by 1, 2"),
        "changes": rows(url, "select changed_on::text, record_uid, change_type from intermediate.int_person_key_changes"
                             " order by 1, 2"),
        "identifiable": rows(url, "select person_key, forename, surname, date_of_birth::text, upn"
                                  " from restricted.person_identifiable order by 1"),
    }


def build(url: str, night: str, run_id: str, dirs: dict[str, Path], command: str = "build") -> transform.DbtOutcome:
    """Staging as of the night (models only: its tests belong to tests/dbt), then tag:identity."""
    transform.run_dbt(["run", "--select", *SELECT[:3]], url, {"as_of_date": night, "run_id": run_id}, **dirs)
    if command == "build":
        return transform.build(SELECT[3:], night, run_id, url, **dirs)
    return transform.run_dbt(["run", "--select", *SELECT[3:]], url, {"as_of_date": night, "run_id": run_id}, **dirs)


@pytest.fixture(scope="module")
def nights(new_database, tmp_path_factory: pytest.TempPathFactory) -> dict:
    # Build by tag as the DAG does; other marts' tests on dim_person must not be pulled in (their
    # models are not built here): dbt's "cautious" indirect selection keeps only our own tests.
    mp = pytest.MonkeyPatch()
    mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
    url, dirs = dbt_warehouse(new_database, tmp_path_factory.mktemp("dbt"), "identity")
    land(url, NIGHT_1, "r1")
    first = build(url, NIGHT_1, "t1", dirs)
    night_1 = state(url)
    land(url, NIGHT_2, "r2")
    second = build(url, NIGHT_2, "t2", dirs)
    night_2 = state(url)
    dim_columns = [r[0] for r in rows(url, """select column_name from information_schema.columns
                                              where table_schema = 'marts' and table_name = 'dim_person'""")]
    # A rerun of the first night after the second: the same answer as the first time.
    rerun = build(url, NIGHT_1, "t1b", dirs, command="run")
    night_1_rerun = state(url)
    mp.undo()
    return {"url": url, "outcomes": (first, second, rerun), "n1": night_1, "n2": night_2, "n1_rerun": night_1_rerun,
            "dim_columns": dim_columns}


def together(keys: dict[str, str], *records: str) -> bool:
    return len({keys[r] for r in records}) == 1


def apart(keys: dict[str, str], *records: str) -> bool:
    return len({keys[r] for r in records}) == len(records)


def test_builds_cleanly(nights: dict) -> None:
    for outcome in nights["outcomes"]:
        assert outcome.success and not outcome.failed
        kinds = {r.resource_type for r in outcome.results if r.name.startswith(("int_", "dim_", "bridge_", "fct_"))}
        assert "model" in kinds
    names = {r.name for r in nights["outcomes"][0].results}
    assert {r.resource_type for r in nights["outcomes"][0].results} >= {"model", "seed", "test", "unit_test"}
    assert {"int_identity__person_records", "int_identity__clusters", "int_person_key_registry", "dim_person",
            "bridge_person_source", "fct_cross_system_gaps", "person_identifiable", "int_requests",
            "int_placements", "int_involvements", "identity_name_variants"} <= names
    assert any(r.resource_type == "unit_test" for r in nights["outcomes"][0].results)


def test_twins_stay_apart(nights: dict) -> None:
    keys = nights["n1"]["keys"]
    assert apart(keys, "education:P2", "education:P3")  # Jack and Jacob: different valid UPNs, different forenames
    assert together(keys, "casework:2", "education:P2")  # Jack in casework is Jack
    assert together(keys, "socialcare:LCS-2", "education:P3")  # jacob smith in social care is Jacob
    # "J Smith" on the twins' birthday at their address could be either: left apart and raised.
    assert apart(keys, "socialcare:LCS-5", "education:P2", "education:P3")
    review = {(left, right): reason for left, right, reason in nights["n1"]["review"]}
    assert review[("education:P2", "socialcare:LCS-5")] == "competing_candidates"
    assert review[("education:P3", "socialcare:LCS-5")] == "competing_candidates"


def test_hard_cases_link(nights: dict) -> None:
    keys = nights["n1"]["keys"]
    assert together(keys, "casework:1", "education:P1", "socialcare:LCS-1")  # case, apostrophes, UPN, NHS
    assert together(keys, "casework:3", "education:P4")  # day and month swapped
    assert together(keys, "casework:4", "education:P5")  # Mohammed / Muhammad
    assert together(keys, "casework:5", "education:P6")  # wrong UPN check letter: a keying error
    assert together(keys, "casework:7", "education:P8")  # Smith-Jones / Smith
    assert together(keys, "education:P9", "education:P10")  # a duplicate pupil record (malformed UPN)
    assert together(keys, "education:P12", "socialcare:LCS-3")  # shared valid UPN
    rules = {(s, r): rule for _, s, r, rule, _ in nights["n1"]["bridge"]}
    assert rules[("casework", "1")] == "upn"
    assert rules[("casework", "5")] == "upn_keying_error"
    assert rules[("education", "P4")] == "name_swapped_dob_postcode"
    assert rules[("casework", "8")] == "single_record"


def test_different_valid_upns_never_merge(nights: dict) -> None:
    keys = nights["n1"]["keys"]
    assert apart(keys, "casework:6", "education:P7")  # same name, date of birth and postcode
    review = {(left, right): reason for left, right, reason in nights["n1"]["review"]}
    assert review[("casework:6", "education:P7")] == "different_identifiers"
    url = nights["url"]
    # No person holds two different valid permanent UPNs, or two different valid NHS numbers.
    assert rows(url, """select person_key from intermediate.int_identity__person_keys k
                        join intermediate.int_identity__person_records r using (record_uid)
                        group by person_key
                        having count(distinct case when r.upn_link_valid then r.upn_link_value end) > 1
                            or count(distinct case when r.nhs_valid then r.nhs_number end) > 1""") == []


def test_bridge_has_every_record_once(nights: dict) -> None:
    for night, persons, pupils, children in (("n1", 8, 12, 4), ("n2", 9, 12, 5)):
        bridge = nights[night]["bridge"]
        records = [(s, r) for _, s, r, _, _ in bridge]
        assert len(records) == len(set(records)) == persons + pupils + children
        assert all(0 <= confidence <= 1 for *_, confidence in bridge)
    assert {s for _, s, *_ in nights["n2"]["bridge"]} == {"casework", "education", "socialcare"}


def test_dim_person_is_pseudonymous(nights: dict) -> None:
    assert nights["dim_columns"] and set(nights["dim_columns"]) == {
        "person_key", "birth_year_month", "sex", "primary_need", "has_active_plan", "in_casework", "in_education",
        "in_socialcare", "source_record_count", "has_duplicate_records"}
    dim = {row[0]: row for row in nights["n1"]["dim"]}
    keys = nights["n1"]["keys"]
    amy = dim[keys["casework:1"]]
    assert amy[1:8] == ("2015-03", "F", "ASD", True, True, True, True)
    assert len(dim) == len(set(keys.values()))
    identifying = {"forename", "surname", "date_of_birth", "upn", "uln", "nhs_number", "postcode"}
    assert not identifying & set(nights["dim_columns"])
    # Every value of dim_person is free of names, UPNs and NHS numbers: those are in restricted.
    text = " ".join(str(v) for row in nights["n2"]["dim"] for v in row)
    for secret in (U_AMY, NHS_AMY, "Amy", "Smith", "2015-03-01"):
        assert secret not in text
    identifiable = {row[0]: row for row in nights["n2"]["identifiable"]}
    assert set(identifiable) == {row[0] for row in nights["n2"]["dim"]}
    # Survivorship: the valid UPN, and the pupil record's details (valid UPN, nightly current).
    assert identifiable[keys["casework:5"]][1:] == ("Lily", "Evans", "2016-09-14", U_LILY)


def test_cross_system_gaps(nights: dict) -> None:
    keys = nights["n1"]["keys"]
    found = {(k, finding): details for k, finding, details in nights["n1"]["gaps"]}
    assert (keys["casework:8"], "plan_without_education_record") in found
    assert (keys["education:P11"], "ehcp_flag_without_plan") in found
    assert (keys["education:P12"], "looked_after_with_plan_unknown_to_casework") in found
    assert (keys["casework:3"], "conflicting_dob") in found
    assert "day and month swapped" in found[(keys["casework:3"], "conflicting_dob")]
    assert (keys["casework:4"], "conflicting_name") in found
    assert "nickname" in found[(keys["casework:4"], "conflicting_name")]
    assert (keys["casework:7"], "conflicting_name") in found  # Smith-Jones / Smith
    assert (keys["casework:5"], "conflicting_upn") in found
    assert (keys["socialcare:LCS-5"], "possible_unlinked_match") in found
    # Amy's plan is known to education (SENProvision E): no gap; casework and education agree.
    amy = keys["casework:1"]
    assert not {f for k, f in found if k == amy} & {"plan_without_education_record", "plan_not_flagged_in_education",
                                                      "conflicting_dob"}
    # Details never carry identifying values.
    text = " ".join(found.values())
    for secret in (U_ZARA, NHS_ZARA, "Zara", "2012-12-12", "NR11"):
        assert secret not in text


def test_keys_are_stable_across_nights(nights: dict) -> None:
    first, second = nights["n1"]["keys"], nights["n2"]["keys"]
    # Every record of night 1 keeps its key on night 2, Amy's edited casework record included.
    assert {r: first[r] for r in first} == {r: second[r] for r in first}
    # The new social care record of Ben Ng adopts Ben's key; a new child gets a new key.
    assert second["socialcare:LCS-4"] == first["casework:3"]
    assert second["casework:9"] not in set(first.values())
    changes = nights["n2"]["changes"]
    assert (NIGHT_2, "socialcare:LCS-4", "joined_known_child") in changes
    assert not [c for c in changes if c[2] in ("merged", "split", "moved")]
    # Night 2 raises Amy's changed surname as a name conflict between her linked records.
    found = {(k, f) for k, f, _ in nights["n2"]["gaps"]}
    assert (second["casework:1"], "conflicting_name") in found


def test_rerun_of_an_old_night_reproduces_it(nights: dict) -> None:
    # The rerun replaced night 1's registry rows instead of adding to them; night 2's rows stand.
    assert rows(nights["url"], """select record_uid, assigned_on from intermediate.int_person_key_registry
                                  group by 1, 2 having count(*) > 1""") == []
    assert rows(nights["url"], """select assigned_on::text, count(*) from intermediate.int_person_key_registry
                                  group by 1 order by 1""") == [(NIGHT_1, 24), (NIGHT_2, 2)]
    assert nights["n1_rerun"]["bridge"] == nights["n1"]["bridge"]
    assert nights["n1_rerun"]["gaps"] == nights["n1"]["gaps"]
    assert nights["n1_rerun"]["dim"] == nights["n1"]["dim"]
