"""Shared by the marts tests: the `slow` marker and one tiny simulated night built end to end.

The night (marts_night.run_simulated_night) is built once per session; the calibration and marts
tests read it. `SEND_SLOW_TESTS=1` also runs the tests marked `slow` (a council-size night).
"""

from __future__ import annotations

import os

import pytest
from marts_night import AS_OF, Night, run_simulated_night


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: council-size runs (minutes); skipped unless SEND_SLOW_TESTS=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SEND_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set SEND_SLOW_TESTS=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_night(new_database, tmp_path_factory: pytest.TempPathFactory) -> Night:
    """A tiny council's night of 2026-11-24, built end to end into a fresh warehouse."""
    return run_simulated_night("tiny", 1, AS_OF, tmp_path_factory.mktemp("tiny-sim"), new_database("marts"))
