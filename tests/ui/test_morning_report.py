"""The morning report the triggered night wrote, rendered in Chromium: its figures against the marts,
readable on a phone, nothing fetched from the network, docs linked."""

from __future__ import annotations

import psycopg
import pytest

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def report(browser, airflow_ui, triggered_night):
    assert triggered_night == "success"
    path = airflow_ui.home / "reports" / "latest" / "index.html"
    assert path.exists(), f"the night wrote no report at {path}"
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith("file:") else outside.append(request.url))
    page.goto(path.resolve().as_uri())
    yield page, outside
    context.close()


def _figure(page, name: str) -> str:
    return page.locator(f"[data-figure={name}]").inner_text()


def _one(url: str, sql: str, params: tuple = ()):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_headline_figures_match_the_marts(report, airflow_ui):
    page, _ = report
    url = airflow_ui.warehouse_url
    as_of = _figure(page, "as_of")
    assert str(_one(url, "select max(as_of_date) from marts.fct_annual_reviews")) == as_of
    assert _figure(page, "run_status") == "success"
    expected = {
        "open_at_risk": "select count(*) from marts.fct_ehc_requests"
                        " where status_20_week = 'open_at_risk' and not is_transfer_in",
        "open_breached": "select count(*) from marts.fct_ehc_requests"
                         " where status_20_week = 'open_breached' and not is_transfer_in",
        "children_out_of_education": "select count(distinct person_key) from marts.fct_education_gaps"
                                     " where is_open and gap_type <> 'part_time_timetable'",
        "reviews_overdue": "select count(*) from marts.fct_annual_reviews where is_open and days_overdue > 0",
    }
    for name, sql in expected.items():
        assert _figure(page, name).replace(",", "") == str(_one(url, sql)), name


def test_out_of_education_list_is_the_mart(report, airflow_ui):
    page, _ = report
    with psycopg.connect(airflow_ui.warehouse_url) as conn:
        gaps = conn.execute("select person_key, gap_days from marts.fct_education_gaps where is_open"
                            " order by gap_days desc, person_key limit 50").fetchall()
    rows = page.locator("#out-of-education-table tbody tr")
    assert rows.count() == len(gaps)
    for i, (person_key, days) in enumerate(gaps):
        cells = rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == str(person_key)
        assert cells.nth(3).inner_text() == str(days)


def test_timeliness_chart_against_the_national_figure(report, airflow_ui):
    page, _ = report
    with psycopg.connect(airflow_ui.warehouse_url) as conn:
        month, pct = conn.execute(
            "select to_char(month, 'Mon YY'), pct_within_20_weeks_excl_exceptions::float"
            " from marts.rpt_timeliness_monthly where team = 'All' and pct_within_20_weeks_excl_exceptions is not null"
            " order by month desc limit 1").fetchone()
    chart = page.locator("#timeliness svg")
    assert chart.locator("title", has_text="England 2024: 46.4%").count() == 1
    value = f"{pct:.1f}".rstrip("0").rstrip(".")
    assert chart.locator("circle title", has_text=f"{month}: {value}%").count() == 1


def test_data_quality_section_only_with_its_mart(report, airflow_ui):
    page, _ = report
    exists = _one(airflow_ui.warehouse_url, "select to_regclass('marts.fct_data_quality_exceptions') is not null")
    assert page.locator("#data-quality").count() == (1 if exists else 0)
    if exists:
        open_now = _one(airflow_ui.warehouse_url,
                        "select count(*) from marts.fct_data_quality_exceptions where status <> 'resolved'")
        assert _figure(page, "data_quality_open").replace(",", "") == str(open_now)


def test_readable_on_a_phone_without_network(report, screenshots):
    page, outside = report
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert outside == []
    if screenshots:
        page.screenshot(path=screenshots / "morning-report-phone.png")


def test_links_to_the_nights_docs(report, browser):
    page, _ = report
    links = page.locator("#links a")
    names = [links.nth(i).inner_text() for i in range(links.count())]
    assert any(n.startswith("dbt docs") for n in names)
    assert {"Data Docs: casework validation", "Data Docs: education validation",
            "Data Docs: socialcare validation"} <= set(names)
    docs = browser.new_page()
    docs.goto(page.url.rsplit("/", 1)[0] + "/" + page.locator("#links a", has_text="dbt docs").get_attribute("href"))
    docs.wait_for_load_state()
    assert "dbt" in docs.title().lower()
    docs.close()
