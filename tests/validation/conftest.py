"""Validation tests use the landing tests' warehouse: a fresh database with the schemas created."""

from __future__ import annotations

from tests.landing.conftest import warehouse  # noqa: F401  (re-exported fixture)
