"""Connections to the warehouse, from WAREHOUSE_URL or the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import psycopg

from send_warehouse.config import Settings
from send_warehouse.warehouse import embedded


def warehouse_url(settings: Settings) -> str:
    """WAREHOUSE_URL if set; otherwise start (or reuse) the embedded server and return its URL."""
    if settings.warehouse_url:
        return settings.warehouse_url
    return embedded.ensure_running(settings.home / "pgdata")


def libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+psycopg://) as well as plain libpq ones."""
    scheme, _, rest = url.partition("://")
    return "postgresql://" + rest if scheme.startswith("postgresql") or scheme == "postgres" else url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg2://" + libpq_url(url).partition("://")[2]


def url_parts(url: str) -> dict[str, str]:
    """host, port, user, password and dbname of a URL (for dbt's profile, which wants parts)."""
    parts = urlsplit(libpq_url(url))
    return {
        "host": parts.hostname or "localhost",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "dbname": unquote((parts.path or "/").lstrip("/")) or "postgres",
    }


def redact(url: str) -> str:
    """The URL with any password removed, for logs and summaries."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


@contextmanager
def connect(url: str, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    conn = psycopg.connect(libpq_url(url), autocommit=autocommit, application_name="send_warehouse")
    try:
        yield conn
    finally:
        conn.close()


__all__ = ["connect", "libpq_url", "redact", "sqlalchemy_url", "url_parts", "warehouse_url"]
