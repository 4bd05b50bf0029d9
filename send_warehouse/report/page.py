"""The morning report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Headline figures carry `data-figure` attributes so that tests (and anyone scraping the page) can
find them without depending on the wording around them.
"""

from __future__ import annotations

from html import escape
from typing import Any

from send_warehouse.report.charts import bar_chart, legend, line_chart, nice_ceiling
from send_warehouse.report.figures import NATIONAL_20_WEEK_PCT, NATIONAL_LABEL, Figures

OUT_OF_EDUCATION_ROWS = 50

CSS = """
:root { --ink:#1d2433; --muted:#5b6475; --line:#d8dde6; --bg:#f6f7f9; --card:#fff;
        --ok:#2e7d5b; --warn:#c77700; --bad:#b3261e; --main:#1f5fa8; --ref:#6b7280; }
* { box-sizing:border-box; }
body { margin:0; font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--ink);
       background:var(--bg); }
header, main, footer { max-width:960px; margin:0 auto; padding:12px 16px; }
h1 { font-size:1.4rem; margin:.2rem 0; } h2 { font-size:1.15rem; margin:0 0 .4rem; }
.muted, .note { color:var(--muted); font-size:.9rem; }
.status-success { color:var(--ok); } .status-failed, .status-running { color:var(--bad); }
.tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(140px,1fr)); gap:10px; margin:10px 0; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px; }
.tile b { display:block; font-size:1.6rem; } .tile span { color:var(--muted); font-size:.85rem; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px;
          margin:12px 0; }
.chart { width:100%; height:auto; display:block; }
/* font sizes in viewBox units: legible once the chart shrinks to a phone's width */
.chart .grid { stroke:var(--line); } .chart text { font-size:15px; fill:var(--muted); }
.chart .label, .chart .total { fill:var(--ink); font-size:16px; }
.chart polyline { fill:none; stroke-width:2.5; }
polyline.main { stroke:var(--main); } circle.main { fill:var(--main); }
.chart .reference { stroke:var(--ref); stroke-dasharray:6 4; stroke-width:2; }
.chart .reference-label { fill:var(--ref); font-size:15px; }
rect.risk, .swatch.risk { fill:var(--warn); background:var(--warn); }
rect.bad, .swatch.bad { fill:var(--bad); background:var(--bad); }
rect.main, .swatch.main { fill:var(--main); background:var(--main); }
.swatch.ref { background:var(--ref); }
.legend span { margin-right:14px; white-space:nowrap; font-size:.9rem; }
.swatch { display:inline-block; width:12px; height:12px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-size:.92rem; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
code { font-size:.85rem; }
a { color:var(--main); }
"""


def _tile(name: str, value: Any, label: str) -> str:
    shown = "–" if value is None else (f"{value}%" if name.startswith("pct") else f"{value:,}")
    return f'<div class="tile"><b data-figure="{name}">{shown}</b><span>{escape(label)}</span></div>'


def _timeliness(f: Figures) -> str:
    labels = [r["month"].strftime("%b %y") for r in f.timeliness]
    values = [r["pct"] for r in f.timeliness]
    chart = line_chart(labels, [("Issued within 20 weeks", values, "main")],
                       reference=(NATIONAL_LABEL, NATIONAL_20_WEEK_PCT), title="20-week timeliness by month")
    last = f.timeliness_12_months
    return f"""<section id="timeliness"><h2>20-week timeliness</h2>
<p>EHC plans issued within 20 weeks of the request, excluding exceptions and transfers-in (the DfE headline),
month by month, against {NATIONAL_LABEL} ({NATIONAL_20_WEEK_PCT}%). Last 12 months:
<b>{"–" if last["pct"] is None else f"{last['pct']}%"}</b> of {last["plans"]:,} plans.</p>
{legend([("Issued within 20 weeks", "main"), (NATIONAL_LABEL, "ref")])}{chart}
<p class="note">Source: <code>marts.rpt_timeliness_monthly</code> (team <code>All</code>); months with no plans
issued leave a gap.</p></section>"""


def _open_clocks(f: Figures) -> str:
    series = [("at risk (99–140 days)", "risk"), ("breached (over 140 days)", "bad")]
    if not f.open_clocks:
        body = "<p>No open request is past 98 days.</p>"
    else:
        body = legend(series) + bar_chart([(r["team"], (r["at_risk"], r["breached"])) for r in f.open_clocks],
                                          series, title="Open 20-week clocks at risk and breached by team")
    return f"""<section id="open-clocks"><h2>Open clocks at risk and breached</h2>
<p>Requests still open tonight whose 20-week clock is at risk or already breached, by owning team.</p>
{body}<p class="note">Source: <code>marts.fct_ehc_requests</code>, <code>status_20_week</code>.</p></section>"""


def _out_of_education(f: Figures) -> str:
    rows = f.out_of_education
    if not rows:
        table = "<p>No child with an active plan is without education tonight.</p>"
    else:
        cells = "".join(
            f"<tr><td><code>{escape(str(r['person_key']))}</code></td>"
            f"<td>{escape(r['gap_type'].replace('_', ' '))}</td>"
            f"<td>{r['gap_start']}</td><td class=\"n\" data-days>{r['gap_days']}</td>"
            f"<td>{'yes' if r['compulsory_school_age'] else 'no'}</td>"
            f"<td>{escape((r['preceding_end_reason'] or '').replace('_', ' ').lower())}</td></tr>"
            for r in rows[:OUT_OF_EDUCATION_ROWS])
        more = (f'<p class="note">Showing the {OUT_OF_EDUCATION_ROWS} longest of {len(rows)} open gaps; '
                "the rest are in the mart.</p>") if len(rows) > OUT_OF_EDUCATION_ROWS else ""
        table = f"""<div class="scroll"><table id="out-of-education-table"><thead><tr><th>person_key</th>
<th>gap</th><th>since</th><th class="n">days</th><th>school age</th><th>after</th></tr></thead>
<tbody>{cells}</tbody></table></div>{more}"""
    return f"""<section id="out-of-education"><h2>Children out of education today</h2>
<p>Children with an active EHC plan and no suitable education tonight (no placement, not in education, or a
part-time timetable), longest first, with days so far. The duty to secure the plan's provision is absolute.</p>
{table}<p class="note">Source: <code>marts.fct_education_gaps</code> where <code>is_open</code>. Pseudonymous:
look a <code>person_key</code> up in the case system through <code>restricted.person_identifiable</code>
(records team only).</p></section>"""


def _overdue_reviews(f: Figures) -> str:
    series = [("overdue up to 12 weeks", "risk"), ("overdue over 12 weeks", "bad")]
    if not f.overdue_reviews:
        body = "<p>No annual review is overdue.</p>"
    else:
        body = legend(series) + bar_chart(
            [(r["team"], (r["up_to_12_weeks"], r["over_12_weeks"])) for r in f.overdue_reviews], series,
            title="Overdue annual reviews by team")
    return f"""<section id="overdue-reviews"><h2>Overdue annual reviews</h2>
<p>Open review cycles past their due date, by team.</p>{body}
<p class="note">Source: <code>marts.fct_annual_reviews</code>, <code>days_overdue</code>.</p></section>"""


def _data_quality(f: Figures) -> str:
    dq = f.data_quality
    if dq is None:
        return ""
    series = [("errors", "bad"), ("warnings", "risk")]
    by_team = (legend(series) + bar_chart([(r["team"], (r["errors"], r["warnings"])) for r in dq["by_team"]], series,
                                          title="Open data-quality exceptions by team")
               if dq["by_team"] else "<p>No open data-quality exceptions.</p>")
    trend = dq["trend"]
    y_max = nice_ceiling(max([r["open"] for r in trend] + [4]))
    trend_chart = line_chart([r["night"].strftime("%d %b") for r in trend],
                             [("open exceptions", [r["open"] for r in trend], "main")],
                             y_max=y_max, y_suffix="", title="Open data-quality exceptions night by night")
    rules = "".join(f"<tr><td><code>{escape(r['rule_code'])}</code></td><td class=\"n\">{r['open']}</td></tr>"
                    for r in dq["by_rule"])
    return f"""<section id="data-quality"><h2>Data-quality exceptions</h2>
<p>The records teams' work queue: open exceptions by owning team, and the open count night by night.</p>
{by_team}{trend_chart}
<div class="scroll"><table><thead><tr><th>rule</th><th class="n">open</th></tr></thead>
<tbody>{rules}</tbody></table></div>
<p class="note">Source: <code>marts.fct_data_quality_exceptions</code>. What each rule means and how to fix it:
docs/data-quality-rules.md.</p></section>"""


def _links(f: Figures) -> str:
    if not f.links:
        return ""
    items = "".join(f'<li><a href="{escape(href)}">{escape(name)}</a></li>' for name, href in f.links.items())
    return f'<section id="links"><h2>Documentation for this night</h2><ul>{items}</ul></section>'


def render(f: Figures) -> str:
    t = f.totals
    run = f.run or {}
    status = run.get("status", "unknown")
    message = f" — {escape(run['message'])}" if run.get("message") else ""
    tiles = [
        _tile("pct_within_20_weeks_12_months", t["pct_within_20_weeks_12_months"],
              "plans within 20 weeks, last 12 months"),
        _tile("open_at_risk", t["open_at_risk"], "open clocks at risk"),
        _tile("open_breached", t["open_breached"], "open clocks breached"),
        _tile("children_out_of_education", t["children_out_of_education"], "children out of education"),
        _tile("reviews_overdue", t["reviews_overdue"], "annual reviews overdue"),
    ]
    if "data_quality_open" in t:
        tiles.append(_tile("data_quality_open", t["data_quality_open"], "open data-quality exceptions"))
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SEND morning report {f.as_of}</title><style>{CSS}</style></head>
<body><header><h1>SEND morning report</h1>
<p class="muted">Night of <b data-figure="as_of">{f.as_of}</b> · run
<span class="status-{escape(status)}" data-figure="run_status">{escape(status)}</span>{message}</p>
<div class="tiles">{"".join(tiles)}</div></header>
<main>{_timeliness(f)}{_open_clocks(f)}{_out_of_education(f)}{_overdue_reviews(f)}{_data_quality(f)}{_links(f)}</main>
<footer class="note">Synthetic or pseudonymous data only: children appear by <code>person_key</code>.
Built from schema <code>marts</code> by <code>send-warehouse report --as-of {f.as_of}</code>.</footer>
</body></html>
"""
