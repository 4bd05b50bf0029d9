"""Run configuration, read from the environment.

Every setting has one environment variable; the README's configuration reference lists them.
Secrets (passwords inside URLs, the social care token) are only ever read from the environment
or an Airflow connection, never from files in the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_dir() -> Path:
    """Where dags/, dbt_project/ and expectations/ live: the checkout, or SEND_PROJECT_DIR when
    the package is installed elsewhere (e.g. site-packages inside the Airflow image)."""
    return Path(os.environ.get("SEND_PROJECT_DIR", PROJECT_ROOT)).resolve()


def dbt_project_dir() -> Path:
    return Path(os.environ.get("DBT_PROJECT_DIR", project_dir() / "dbt_project")).resolve()


def home_dir() -> Path:
    """The project-local folder for state the user did not configure elsewhere."""
    return Path(os.environ.get("SEND_HOME", PROJECT_ROOT / ".send")).resolve()


@dataclass(frozen=True)
class Settings:
    warehouse_url: str | None
    casework_db_url: str | None
    education_drop_dir: Path | None
    socialcare_api_url: str | None
    socialcare_api_token: str | None = field(repr=False, default=None)
    socialcare_page_size: int = 500
    socialcare_timeout_s: float = 30.0
    socialcare_max_retries: int = 6
    # Re-read this much before the casework/social care watermark so that rows committed late
    # by the source (long transactions on the replica) are not missed; re-read rows are
    # deduplicated by staging.
    incremental_lookback_minutes: int = 60
    dbt_threads: int = 2
    home: Path = field(default_factory=home_dir)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        drop = env.get("EDUCATION_DROP_DIR")
        return cls(
            warehouse_url=env.get("WAREHOUSE_URL") or None,
            casework_db_url=env.get("CASEWORK_DB_URL") or None,
            education_drop_dir=Path(drop) if drop else None,
            socialcare_api_url=(env.get("SOCIALCARE_API_URL") or "").rstrip("/") or None,
            socialcare_api_token=env.get("SOCIALCARE_API_TOKEN") or None,
            socialcare_page_size=int(env.get("SOCIALCARE_PAGE_SIZE", "500")),
            socialcare_timeout_s=float(env.get("SOCIALCARE_TIMEOUT_S", "30")),
            socialcare_max_retries=int(env.get("SOCIALCARE_MAX_RETRIES", "6")),
            incremental_lookback_minutes=int(env.get("INCREMENTAL_LOOKBACK_MINUTES", "60")),
            dbt_threads=int(env.get("DBT_THREADS", "2")),
        )
