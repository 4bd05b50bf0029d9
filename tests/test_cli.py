"""The command line's manners: clear errors and the embedded warehouse's lifecycle."""

from __future__ import annotations

import pytest

from send_warehouse.cli import build_parser, main


def test_run_without_sources_says_what_to_set(capsys):
    assert main(["run", "--as-of", "2026-11-24"]) == 2
    err = capsys.readouterr().err
    assert "CASEWORK_DB_URL" in err and "--simulate" in err


def test_bad_date_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--as-of", "24/11/2026"])
    assert "is not a date" in capsys.readouterr().err


def test_warehouse_url_starts_the_embedded_server(capsys):
    assert main(["warehouse", "url"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_serve_socialcare_needs_a_token(capsys, tmp_path):
    assert main(["serve-socialcare", str(tmp_path)]) == 2
    assert "SOCIALCARE_API_TOKEN" in capsys.readouterr().err


def test_report_before_any_night_says_to_run_one(capsys, monkeypatch, warehouse_url):
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    assert main(["report", "--as-of", "2026-11-24"]) == 1
    err = capsys.readouterr().err
    assert "run a night first" in err and "send-warehouse run --as-of 2026-11-24" in err
    assert "Traceback" not in err


def test_unreachable_warehouse_says_what_to_check(capsys, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://nobody:secret@127.0.0.1:1/send")
    assert main(["report", "--as-of", "2026-11-24"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the warehouse" in err and "WAREHOUSE_URL" in err
    assert "secret" not in err
