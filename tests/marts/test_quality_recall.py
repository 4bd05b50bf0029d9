"""fct_data_quality_exceptions on the tiny simulated night: every error the simulator injects
is raised by its rule on the right record (recall 100 %), and no rule fires on a clean record.
The council-size figures come from bench/quality_recall.py (bench/README.md)."""

from __future__ import annotations

from marts_night import Night

from send_warehouse import quality_recall


def test_every_injected_error_is_caught_by_its_rule_and_nothing_else(tiny_night: Night) -> None:
    rows = quality_recall.measure(tiny_night.url, tiny_night.ground_truth, tiny_night.as_of)
    by_rule = {r["rule_code"]: r for r in rows}
    # every kind a rule is meant to catch occurs in the tiny world
    assert set(quality_recall.KIND_TO_RULE.values()) <= set(by_rule)
    misses = {r["rule_code"]: r["missed_examples"] for r in rows if r["caught"] != r["injected"]}
    false_positives = {r["rule_code"]: r["false_positive_examples"] for r in rows if r["false_positives"]}
    assert misses == {}
    assert false_positives == {}
    # every injected kind is either a rule's or handled elsewhere (no kind silently ignored)
    assert set(quality_recall.unmapped_kinds(tiny_night.ground_truth)) <= set(quality_recall.HANDLED_ELSEWHERE)


def test_the_mart_is_pseudonymous_and_alerts_ran(tiny_night: Night) -> None:
    from tests.raw_rows import query

    stages = {s["stage"]: s["status"] for s in tiny_night.summary["stages"]}
    assert stages["alerts"] == "success"
    surnames = {r[0] for r in query(tiny_night.url, "select surname from restricted.person_identifiable"
                                                    " where length(surname) > 3")}
    messages = " ".join(r[0] for r in query(tiny_night.url, "select message from marts.fct_data_quality_exceptions"))
    assert not [s for s in surnames if f" {s} " in messages]
