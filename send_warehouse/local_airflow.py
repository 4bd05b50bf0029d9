"""`make airflow`: Airflow 3 on this machine (`airflow standalone`) with the project's DAG.

Sources that are not configured in the environment are simulated (as `send-warehouse run
--simulate` does): the casework SQLite file and the education drop on disk, and the social care
API served from this process, which therefore stays up for as long as Airflow does. The warehouse
is WAREHOUSE_URL or the embedded server. Airflow's chatter goes to SEND_HOME/logs/airflow.log;
the terminal gets the address and the login.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from send_warehouse.config import Settings
from send_warehouse.runner import airflow_env

READY_TIMEOUT_S = 300


@dataclass(frozen=True)
class Login:
    url: str
    user: str
    password: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def standalone_env(home: Path, port: int, extra: dict[str, str], schedule: bool = True) -> dict[str, str]:
    """The environment for `airflow standalone`: project-local home and DAGs, our port everywhere
    (the task runner reaches the API server's execution API through it) and the sources.
    `schedule=False` runs only the runs someone triggers (tests: no catch-up run of last night)."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **airflow_env(home),
        **extra,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),  # standalone starts `airflow …` by name
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # Paused until someone unpauses or triggers it: no surprise run at start-up.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(schedule),
        # Internal log servers on free ports, so two local Airflows on one machine do not collide.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }


def _healthy(url: str) -> bool:
    """The API server answers and the scheduler and DAG processor heartbeat."""
    try:
        # S310: the URL is always http://127.0.0.1:<our port>.
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=3) as response:  # noqa: S310
            health = json.load(response)
    except (OSError, ValueError):
        return False
    parts = ("metadatabase", "scheduler", "dag_processor")
    return all(health.get(part, {}).get("status") == "healthy" for part in parts)


def _password(airflow_home: Path) -> str:
    """The admin password `airflow standalone` generates on first start (kept across restarts)."""
    data = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
    return data["admin"]


def start(home: Path, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    # Its own process group, so stopping it stops the scheduler, DAG processor and API server too.
    return subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(process: subprocess.Popen, home: Path, port: int, log_path: Path) -> Login:
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _healthy(url):
        if process.poll() is not None:
            raise RuntimeError(f"airflow standalone exited ({process.returncode}); see {log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Airflow was not healthy after {READY_TIMEOUT_S} s; see {log_path}")
        time.sleep(2)
    return Login(url=url, user="admin", password=_password(home / "airflow"))


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Stop standalone and every process it started (they share its process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout_s)
    # The scheduler's and triggerer's workers can outlive standalone itself.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(size: str, seed: int, as_of: date, port: int, say: Callable[[str], None], schedule: bool = True) -> int:
    """Simulate the unconfigured sources, start Airflow and keep both up until interrupted."""
    from send_warehouse.demo import simulated_sources
    from send_warehouse.warehouse.connection import redact, warehouse_url

    settings = Settings.from_env()
    url = warehouse_url(settings)
    say(f"warehouse: {redact(url)}")
    say(f"simulating the unconfigured sources ({size}, seed {seed}, night {as_of}) …")
    sources = simulated_sources(settings.home, size, seed, as_of, progress=lambda m: say(f"  {m}"))
    log_path = settings.home / "logs" / "airflow.log"
    env = standalone_env(settings.home, port, {**sources.env, "WAREHOUSE_URL": url}, schedule)
    say(f"starting Airflow (about 90 s; its log: {log_path}) …")
    process = start(settings.home, port, env, log_path)
    try:
        login = wait_ready(process, settings.home, port, log_path)
        print(f"\nAirflow is up: {login.url}\n  login: {login.user} / {login.password}\n"
              f"  DAG send_nightly is paused: Trigger runs a night now"
              f"{'; unpaused, it also runs nightly at 02:00' if schedule else ' (schedule off: --no-schedule)'}.\n"
              f"  Morning reports: {settings.home / 'reports'}\nCtrl-C stops Airflow and the simulated API.",
              flush=True)
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
        return process.wait()
    except KeyboardInterrupt:
        say("stopping Airflow …")
        return 0
    finally:
        stop(process)
        sources.close()
