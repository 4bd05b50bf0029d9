"""`send-warehouse sen2` manners: clear errors before anything is written."""

from __future__ import annotations

from send_warehouse.cli import main


def test_year_before_person_level_and_bad_la_are_refused(tmp_path, capsys):
    assert main(["sen2", "--year", "2020", "--la", "926", "--out", str(tmp_path / "r.xml")]) == 2
    assert "person-level from 2023" in capsys.readouterr().err
    assert main(["sen2", "--year", "2026", "--la", "92", "--out", str(tmp_path / "r.xml")]) == 2
    assert "three digits" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_an_unbuilt_warehouse_says_what_to_do(warehouse_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    assert main(["sen2", "--year", "2026", "--la", "926", "--out", str(tmp_path / "r.xml")]) == 2
    assert "send-warehouse run" in capsys.readouterr().err
