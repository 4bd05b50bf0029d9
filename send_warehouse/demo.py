"""Simulated sources for runs without configured source systems (`make run`, the benchmark).

Only the sources that are not configured are simulated, so a council can point one system at
its real export and keep the others simulated while trying the pipeline.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


@dataclass
class SimulatedSources:
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    server: Any = None  # the social care API server, stopped by close()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def dataset_folder(home: Path, size: str, seed: int, as_of: date) -> Path:
    return home / "sim" / f"{size}-seed{seed}-{as_of.isoformat()}"


def ensure_dataset(home: Path, size: str, seed: int, as_of: date, nights: int = 1, progress=None) -> Path:
    """Simulate the dataset once; later calls with the same parameters reuse it."""
    from send_warehouse.simulator import simulate

    folder = dataset_folder(home, size, seed, as_of)
    manifest = folder / "manifest.json"
    if manifest.exists():
        existing = json.loads(manifest.read_text())
        if len(existing.get("nights", [])) >= nights:
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    simulate(size=size, seed=seed, out=folder, nights=nights, as_of=as_of, progress=progress)
    return folder


def simulated_sources(home: Path, size: str, seed: int, as_of: date, progress=None) -> SimulatedSources:
    """Simulate (or reuse) a dataset and point every unconfigured source at it."""
    folder = ensure_dataset(home, size, seed, as_of, progress=progress)
    sources = SimulatedSources(folder)
    if not os.environ.get("CASEWORK_DB_URL"):
        sources.env["CASEWORK_DB_URL"] = f"sqlite:///{folder / 'casework.sqlite'}"
    if not os.environ.get("EDUCATION_DROP_DIR"):
        sources.env["EDUCATION_DROP_DIR"] = str(folder / "education")
    if not os.environ.get("SOCIALCARE_API_URL"):
        from send_warehouse.simulator.socialcare_api import start_server

        # A fresh random token each time: the simulated API is as locked as the real one.
        token = secrets.token_urlsafe(24)
        sources.server = start_server(folder, port=0, token=token)
        sources.env["SOCIALCARE_API_URL"] = sources.server.url
        sources.env["SOCIALCARE_API_TOKEN"] = token
    return sources
