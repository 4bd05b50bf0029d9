"""Shared fixtures: a real PostgreSQL server for the session and a fresh database per test.

The server is the embedded one (pip-installed) unless TEST_POSTGRES_URL names another server
whose user may create databases. Airflow and the pipeline keep their state in a test-only
SEND_HOME, set here before anything imports airflow.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_HOME = Path(os.environ.get("SEND_TEST_HOME", ROOT / ".send" / "test"))
os.environ["SEND_HOME"] = str(TEST_HOME)
os.environ.setdefault("SEND_TASK_RETRIES", "0")
from send_warehouse.runner import airflow_env  # noqa: E402

for _key, _value in airflow_env(TEST_HOME).items():
    os.environ[_key] = _value
# Sources and warehouse come from each test, never from the developer's shell.
for _var in ("WAREHOUSE_URL", "CASEWORK_DB_URL", "EDUCATION_DROP_DIR", "SOCIALCARE_API_URL", "SOCIALCARE_API_TOKEN"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """URL of a server (its maintenance database) on which tests create databases."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        return url
    from send_warehouse.warehouse import embedded

    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return embedded.ensure_running(TEST_HOME / "pgdata").rsplit("/", 1)[0] + "/postgres"


def _create_database(server_url: str, prefix: str) -> tuple[str, str]:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name, server_url.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def new_database(postgres_server: str) -> Iterator:
    """A factory of fresh databases for fixtures of wider scope; all are dropped at the end."""
    created: list[str] = []

    def create(prefix: str) -> str:
        name, url = _create_database(postgres_server, prefix)
        created.append(name)
        return url

    yield create
    for name in created:
        _drop_database(postgres_server, name)


@pytest.fixture
def warehouse_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty warehouse database for one test."""
    name, url = _create_database(postgres_server, "wh")
    yield url
    _drop_database(postgres_server, name)


@pytest.fixture
def casework_pg_url(postgres_server: str) -> Iterator[str]:
    """A separate PostgreSQL database standing in for the casework replica (SQLAlchemy URL)."""
    name, url = _create_database(postgres_server, "cw")
    yield "postgresql+psycopg://" + url.partition("://")[2]
    _drop_database(postgres_server, name)
