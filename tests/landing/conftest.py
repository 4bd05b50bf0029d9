"""Builders for hand-made source fixtures: small enough to read, exact enough to assert on."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from send_warehouse.warehouse.connection import connect
from send_warehouse.warehouse.schema import ensure_schema

PUPILS_HEADER = "PupilRef,UPN,ULN,LegalForename,LegalSurname,DOB,Gender,Postcode,SENProvision"
PLACEMENTS_HEADER = "PlacementId,PupilRef,URN,SettingCode,StartDate,EndDate,EndReason,HoursPerWeek,IsDualRegistration"
ESTABLISHMENTS_HEADER = "URN,Name,Type,Phase,LACode"


def write_night(drop: Path, night: date, pupils: list[str], placements: list[str] | None = None,
                establishments: list[str] | None = None, *, headers: dict[str, str] | None = None,
                success: bool = True) -> Path:
    """Write one night folder as the vendor's Windows job would: cp1252, CRLF."""
    folder = drop / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    headers = headers or {}
    files = {
        "pupils.csv": (headers.get("pupils.csv", PUPILS_HEADER), pupils),
        "placements.csv": (headers.get("placements.csv", PLACEMENTS_HEADER), placements or []),
        "establishments.csv": (headers.get("establishments.csv", ESTABLISHMENTS_HEADER),
                               establishments or ["100001,Oak Primary,MAINSTREAM,PRIMARY,926"]),
    }
    for name, (header, lines) in files.items():
        body = "".join(f"{line}\r\n" for line in [header, *lines])
        (folder / name).write_bytes(body.encode("cp1252", errors="surrogateescape")
                                    if isinstance(body, str) else body)
    if success:
        (folder / "_SUCCESS").touch()
    return folder


@pytest.fixture
def warehouse(warehouse_url):
    """A connection to a fresh warehouse with the pipeline's schemas created."""
    with connect(warehouse_url) as conn:
        ensure_schema(conn)
        conn.commit()
        yield conn
