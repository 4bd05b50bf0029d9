"""The statutory SEN2 return, produced from the reconciled warehouse (docs/sen2.md).

`produce(url, year, la, out)` writes the person-level XML to `out`, beside it the module-per-file
CSVs (`<stem>_<module>.csv`) and the pre-submission report (`<stem>_report.html`, `_report.csv`),
and returns a summary (figures, failures by rule, XSD errors, paths).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from zoneinfo import ZoneInfo

from send_warehouse.sen2 import extract, files, report, rules, xml
from send_warehouse.sen2.collection import collection


def _release() -> str:
    try:
        return version("send-warehouse")
    except PackageNotFoundError:
        return "0"


def produce(url: str, year: int, la: str, out: Path) -> dict:
    c = collection(year, la)
    created = datetime.now(ZoneInfo("Europe/London"))
    persons, as_of = extract.load(url, c)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tree = xml.build(persons, c, _release(), created)
    tree.write(str(out), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    xsd_errors = xml.validate(out)
    stem = out.with_suffix("")
    modules = files.write_modules(persons, stem)
    failures = rules.check(persons, c)
    numbers = report.figures(tree, c)
    marts = report.marts_figures(url, c)
    report_csv = stem.with_name(f"{stem.name}_report.csv")
    report_html = stem.with_name(f"{stem.name}_report.html")
    report.write_csv(failures, report_csv)
    report.write_html(failures, numbers, marts, c, as_of, xsd_errors, report_html, created)
    return {"year": year, "la": la, "reference_date": c.reference_date.isoformat(),
            "as_of_date": as_of.isoformat() if as_of else None, "figures": numbers, "marts": marts,
            "reconciles": all(numbers[k] == v for k, v in marts.items()),
            "xsd_valid": not xsd_errors, "xsd_errors": xsd_errors[:20], "failures": len(failures),
            "failures_by_rule": dict(sorted(Counter(f.rule_code for f in failures).items())),
            "files": {"xml": str(out), "report_html": str(report_html), "report_csv": str(report_csv),
                      **{m: str(p) for m, p in modules.items()}}}
