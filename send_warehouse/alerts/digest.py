"""The nightly digest per owning team, read from marts.fct_data_quality_exceptions.

Each team hears: how many exceptions are new tonight, still open and resolved since the last
night, its top rules, and the new, open and resolved ones by record id and rule code with the
message saying what to change. Names and dates of birth appear only when the council turns
on SEND_ALERT_INCLUDE_IDENTIFIABLE (then read from restricted.person_identifiable).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from send_warehouse.alerts.delivery import Alert
from send_warehouse.warehouse.connection import connect

DOCS = "docs/data-quality-rules.md"


@dataclass
class TeamDigest:
    team: str
    night: date
    new: list[dict[str, Any]] = field(default_factory=list)
    open: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)

    def top_rules(self, n: int = 5) -> list[tuple[str, int]]:
        return Counter(e["rule_code"] for e in self.new + self.open).most_common(n)

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "open": len(self.open), "resolved": len(self.resolved)}

    def alert(self, max_items: int = 50) -> Alert:
        c = self.counts()
        subject = (f"SEND data quality {self.night.isoformat()} – {self.team}: {c['new']} new, {c['open']} still open, "
                   f"{c['resolved']} resolved")
        lines = [f"Data-quality exceptions for {self.team}, night {self.night.isoformat()}.",
                 f"{c['new']} new, {c['open']} still open, {c['resolved']} resolved since the last night.", ""]
        if self.top_rules():
            lines.append("Top rules (new and still open):")
            lines += [f"  {rule}: {n}" for rule, n in self.top_rules()]
            lines.append("")
        for title, items, full in (("New tonight", self.new, True), ("Still open", self.open, True),
                                   ("Resolved since the last night", self.resolved, False)):
            if not items:
                continue
            lines.append(f"{title} ({len(items)}):")
            for e in items[:max_items]:
                line = f"  - {e['rule_code']} [{e['severity']}] {e['source_system']} {e['source_record_id']}"
                if full:
                    line += f": {e['message']}"
                if e.get("identifiable"):
                    line += f" ({e['identifiable']})"
                lines.append(line)
            if len(items) > max_items:
                lines.append(f"  … and {len(items) - max_items} more: marts.fct_data_quality_exceptions where "
                             f"owning_team = '{self.team}'")
            lines.append("")
        lines.append(f"What each rule means and how to fix it: {DOCS}")
        return Alert(subject=subject, text="\n".join(lines))


def team_digests(url: str, night: date, include_identifiable: bool = False) -> list[TeamDigest]:
    """One digest per owning team with anything new, open or resolved since the last night."""
    identifiable = """, concat_ws(', ', nullif(concat_ws(' ', p.forename, p.surname), ''),
                                  'born ' || p.date_of_birth::text) as identifiable""" if include_identifiable else ""
    join = "left join restricted.person_identifiable p on p.person_key = e.person_key" if include_identifiable else ""
    sql = f"""
        with previous_night as (
            select max(last_seen) as night from marts.fct_data_quality_exceptions where last_seen < %(night)s
        )
        select e.owning_team, e.status, e.rule_code, e.severity, e.source_system, e.source_record_id,
               e.message, e.first_seen {identifiable}
        from marts.fct_data_quality_exceptions e {join}
        where e.status in ('new', 'open')
           or (e.status = 'resolved' and e.last_seen = (select night from previous_night))
        order by e.owning_team, e.severity, e.rule_code, e.source_system, e.source_record_id
    """
    digests: dict[str, TeamDigest] = {}
    with connect(url) as conn:
        cur = conn.execute(sql, {"night": night})
        names = [d.name for d in cur.description]
        for row in cur.fetchall():
            e = dict(zip(names, row, strict=True))
            digest = digests.setdefault(e["owning_team"], TeamDigest(e["owning_team"], night))
            getattr(digest, e["status"]).append(e)
    return [digests[t] for t in sorted(digests)]
