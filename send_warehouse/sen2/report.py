"""The pre-submission report: the return's headline figures, the items no source records, and every
rule failure per child with what to fix, as HTML (to read) and CSV (to work through)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from html import escape
from pathlib import Path

from lxml import etree

from send_warehouse.sen2.collection import Collection
from send_warehouse.sen2.rules import RULES, Failure

# Items of the specification that none of the three systems records (source-systems.md): left out of
# the XML rather than invented; the council completes them in its submission tool if it must.
NOT_RECORDED = {
    "Requests": "RYA, RequestMediation, RequestTribunal, Exported",
    "Assessment": "AssessmentMediation, AssessmentTribunal, OtherMediation, OtherTribunal",
    "NamedPlan": "PlanRes, PlanWBP, PB, OA, DP",
    "PlanDetail / PlacementDetail": "UKPRN, SENunitIndicator, ResourcedProvisionIndicator (the education system "
                                    "holds URNs and setting codes only)",
    "ActivePlans": "ReviewDraft",
    "Header": "DMO, DCO, DSCO (contact details: complete in the submission tool)",
}
CSV_HEADER = ("person_key", "child", "rule_code", "module", "item", "source_system", "source_object",
              "source_record_id", "message")


def figures(tree: etree._ElementTree, c: Collection) -> dict[str, object]:
    """Headline counts computed from the XML itself (the reconciliation compares them with the marts):
    requests received in the period (transfers-in, coded H, excluded), plans issued in it, and the
    share of those without a recorded exception issued within 20 weeks (140 days)."""
    start, end = c.period_start.isoformat(), c.period_end.isoformat()
    received = issued = excl = within = 0
    active = 0
    for request in tree.iterfind("Persons/Person/Requests"):
        got = request.findtext("ReceivedDate")
        if got and start <= got <= end and request.findtext("RequestOutcome") != "H":
            received += 1
        if request.find("ActivePlans") is not None:
            active += 1
        a = request.find("Assessment")
        if a is None or a.findtext("AssessmentOutcome") != "Y":
            continue
        out = a.findtext("AssessmentOutcomeDate")
        if not out or not (start <= out <= end):
            continue
        issued += 1
        if a.findtext("Week20") != "1":
            excl += 1
            within += (date.fromisoformat(out) - date.fromisoformat(got)).days <= 140
    return {"persons": len(tree.findall("Persons/Person")), "requests": len(tree.findall("Persons/Person/Requests")),
            "named_plans": len(tree.findall("Persons/Person/Requests/Assessment/NamedPlan")),
            "requests_received": received, "plans_issued": issued,
            "plans_issued_excl_exceptions": excl, "within_20_weeks_excl_exceptions": within,
            "pct_within_20_weeks_excl_exceptions": round(100.0 * within / excl, 1) if excl else None,
            "active_plans": active}


MARTS_SQL = """
select coalesce(sum(requests_received), 0)::int, coalesce(sum(plans_issued), 0)::int,
       coalesce(sum(plans_issued_excl_exceptions), 0)::int, coalesce(sum(plans_within_20_weeks_excl_exceptions), 0)::int
from marts.rpt_timeliness_monthly
where team = 'All' and month between %s and %s
"""


def marts_figures(url: str, c: Collection) -> dict[str, object]:
    """The same headline counts from the marts (rpt_timeliness_monthly, team All) for the period."""
    from send_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        received, issued, excl, within = conn.execute(MARTS_SQL, (c.period_start, c.period_end)).fetchone()
    return {"requests_received": received, "plans_issued": issued, "plans_issued_excl_exceptions": excl,
            "within_20_weeks_excl_exceptions": within,
            "pct_within_20_weeks_excl_exceptions": round(100.0 * within / excl, 1) if excl else None}


def write_csv(failures: list[Failure], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_HEADER)
        for x in failures:
            w.writerow((x.person_key, x.child, x.rule_code, x.module, x.item, x.source_system, x.source_object,
                        x.source_record_id, x.message))


def write_html(failures: list[Failure], numbers: dict, marts: dict, c: Collection, as_of: date | None,
               xsd_errors: list[str], path: Path, created: datetime) -> None:
    by_rule = Counter(x.rule_code for x in failures)
    children = len({x.person_key for x in failures})
    provisional = as_of is None or as_of < c.reference_date
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>SEN2 {c.year} pre-submission report, LA {escape(c.la)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}"
        ".warn{color:#a00}</style></head><body>",
        f"<h1>SEN2 {c.year}: pre-submission report, LA {escape(c.la)}</h1>",
        f"<p>Activity {c.period_start} to {c.period_end}; active plans on the reference date {c.reference_date}. "
        f"Warehouse as of {as_of or 'unknown'}; written {created:%Y-%m-%d %H:%M}.</p>",
    ]
    if provisional:
        parts.append("<p class='warn'>The warehouse predates the reference date: this return is provisional.</p>")
    parts.append("<h2>The return</h2><table><tr><th></th><th>in the XML</th><th>in the marts</th></tr>")
    parts += [f"<tr><th>{escape(k.replace('_', ' '))}</th><td>{escape(str(v))}</td>"
              f"<td{'' if marts.get(k, v) == v else ' class=warn'}>{escape(str(marts.get(k, '')))}</td></tr>"
              for k, v in numbers.items()]
    parts.append(f"<tr><th>XSD</th><td>{'valid' if not xsd_errors else escape('; '.join(xsd_errors[:5]))}</td></tr>")
    parts.append("</table><h2>Rule failures</h2>")
    parts.append(f"<p>{len(failures)} failures for {children} children.</p><table><tr><th>rule</th><th>what it checks"
                 "</th><th>failures</th></tr>")
    parts += [f"<tr><td>{r}</td><td>{escape(d)}</td><td>{by_rule.get(r, 0)}</td></tr>" for r, d in RULES.items()]
    parts.append("</table><h2>Failures by child</h2><table><tr><th>child</th><th>rule</th><th>module / item</th>"
                 "<th>record to fix</th><th>what to fix</th></tr>")
    for x in sorted(failures, key=lambda f: (f.child, f.person_key, f.rule_code, f.source_record_id)):
        parts.append(f"<tr><td>{escape(x.child)}</td><td>{x.rule_code}</td><td>{escape(x.module)} / "
                     f"{escape(x.item)}</td><td>{escape(x.source_system)} {escape(x.source_object)} "
                     f"{escape(x.source_record_id)}</td>"
                     f"<td>{escape(x.message)}</td></tr>")
    parts.append("</table><h2>Items no source system records</h2><p>Left out of the XML, not invented:</p><table>")
    parts += [f"<tr><th>{escape(m)}</th><td>{escape(items)}</td></tr>" for m, items in NOT_RECORDED.items()]
    parts.append("</table></body></html>\n")
    path.write_text("".join(parts), encoding="utf-8")
