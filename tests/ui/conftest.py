"""Browser tests: headless Chromium (Debian's, driven by Playwright) against a real local Airflow.

`airflow_ui` starts `send-warehouse airflow` once per session (the same command `make airflow`
runs: Airflow 3 standalone, sources simulated, the social care API served by that process) into a
fresh warehouse database and a SEND_HOME of its own. `triggered_night` triggers one run through the
UI and waits for it; the report test reads what that run wrote.

Chromium comes from the system (`apt-get install chromium`; `.ci/run` installs it). Without it
these tests skip, except under CI=true, where a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from send_warehouse.local_airflow import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEST_HOME = Path(os.environ["SEND_HOME"])  # set by tests/conftest.py
RUN_TIMEOUT_S = 600
# SEND_UPDATE_SCREENSHOTS=1 also saves the README's screenshots into docs/img/.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img" if os.environ.get(
    "SEND_UPDATE_SCREENSHOTS") == "1" else None


@dataclass(frozen=True)
class AirflowUI:
    url: str
    user: str
    password: str
    home: Path  # its SEND_HOME: reports, docs, logs
    warehouse_url: str


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """Where to save the README's screenshots (SEND_UPDATE_SCREENSHOTS=1), else None."""
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return CHROMIUM
    reason = (f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
              "(or set CHROMIUM_PATH); .ci/run installs it in CI")
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def airflow_ui(chromium_path: str, new_database) -> Iterator[AirflowUI]:
    """`send-warehouse airflow` on a free port, into a fresh database; stopped at the end."""
    home = TEST_HOME / "airflow-ui"
    shutil.rmtree(home, ignore_errors=True)  # a fresh Airflow database: the only run is ours
    url = new_database("ui")
    port = free_port()
    env = {**os.environ, "SEND_HOME": str(home), "WAREHOUSE_URL": url}
    log = (TEST_HOME / "airflow-ui.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "send_warehouse.cli", "airflow", "--port", str(port), "--no-schedule"],
        env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        login = None
        for line in process.stdout:  # blocks until the banner; the command times out after 300 s
            if match := re.search(r"login: (\S+) / (\S+)", line):
                login = match.groups()
                break
        if login is None:
            pytest.fail(f"send-warehouse airflow exited ({process.wait()}); see {log.name} and {home}/logs/airflow.log")
        yield AirflowUI(f"http://127.0.0.1:{port}", login[0], login[1], home, url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def login(page, ui: AirflowUI, path: str = "/dags") -> None:
    # Straight to the login form: the app itself redirects there only after its scripts load.
    page.goto(f"{ui.url}/auth/login?next={path}")
    page.locator("input[name=username]").fill(ui.user)
    page.locator("input[name=password]").fill(ui.password)
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(ui.url + path)))


@pytest.fixture(scope="session")
def airflow_page(browser, airflow_ui: AirflowUI) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)  # the API server is slow while a night runs beside it
    page = context.new_page()
    login(page, airflow_ui)
    yield page
    context.close()


@pytest.fixture(scope="session")
def triggered_night(airflow_page, airflow_ui: AirflowUI) -> str:
    """Trigger send_nightly from its page, as an operator would, and wait until the run ends.
    Returns the run's final state as the UI shows it."""
    page = airflow_page
    deadline = time.monotonic() + 120
    while True:  # the DAG processor may not have parsed the file yet
        try:
            page.goto(f"{airflow_ui.url}/dags/send_nightly", wait_until="domcontentloaded", timeout=60_000)
            page.get_by_role("button", name="Trigger Dag").wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                pytest.fail("send_nightly never appeared in the UI")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Trigger").click()
    dialog.wait_for(state="hidden")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        time.sleep(5)
        try:  # the API server answers slowly while the night's tasks load the machine
            page.goto(f"{airflow_ui.url}/dags/send_nightly/runs", wait_until="domcontentloaded", timeout=60_000)
            row = page.locator("tbody tr", has_text="manual__").first
            row.wait_for(timeout=30_000)
            text = row.inner_text()
        except PlaywrightTimeout:
            continue
        for state in ("success", "failed"):
            if re.search(rf"\b{state}\b", text, re.IGNORECASE):  # the UI shows "Success"
                return state
    pytest.fail(f"the triggered run did not finish in {RUN_TIMEOUT_S} s; see {airflow_ui.home}/logs")
