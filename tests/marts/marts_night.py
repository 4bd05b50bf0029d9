"""One simulated night built end to end, for the marts tests (imported by conftest and the tests).

The night is simulated (`send_warehouse.simulator.simulate`) and run through the real nightly DAG
(`send-warehouse run`) into a fresh database, as an operator would run it.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

AS_OF = date(2026, 11, 24)
TOKEN = "marts-token-not-a-secret"


@dataclass(frozen=True)
class Night:
    url: str  # the warehouse database
    folder: Path  # the simulated sources; ground truth in folder / "ground_truth"
    as_of: date
    summary: dict  # `send-warehouse run --json` output

    @property
    def ground_truth(self) -> Path:
        return self.folder / "ground_truth"


def run_simulated_night(size: str, seed: int, as_of: date, folder: Path, url: str) -> Night:
    """Simulate a council's sources and run one whole night into `url`, as an operator would."""
    from send_warehouse.cli import main
    from send_warehouse.simulator import simulate
    from send_warehouse.simulator.socialcare_api import start_server

    simulate(size=size, seed=seed, out=folder, nights=1, as_of=as_of)
    server = start_server(folder, token=TOKEN)
    env = {"CASEWORK_DB_URL": f"sqlite:///{folder / 'casework.sqlite'}",
           "EDUCATION_DROP_DIR": str(folder / "education"),
           "SOCIALCARE_API_URL": server.url, "SOCIALCARE_API_TOKEN": TOKEN, "WAREHOUSE_URL": url}
    out = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            with contextlib.redirect_stdout(out):
                code = main(["run", "--as-of", as_of.isoformat(), "--json", "--quiet"])
    finally:
        server.stop()
    text = out.getvalue()
    summary = json.loads(text[text.index("{"):])
    assert code == 0, summary
    return Night(url=url, folder=folder, as_of=as_of, summary=summary)

