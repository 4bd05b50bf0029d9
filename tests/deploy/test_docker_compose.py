"""The deployment files, checked by parsing them: no Docker engine runs where these tests run.

docker-compose.yml, Dockerfile, .env.example and .dockerignore are read as text or YAML and held to
the shape the deployment needs: the Airflow 3 CeleryExecutor services, the separate warehouse,
the project mounts, health checks, and no secret written in the repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt}; not $${...}.
REF = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
BARE_REF = re.compile(r"(?<!\$)\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|_AUTH$", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@")
REQUIRED_MARKER = re.compile(r"__REQUIRED_[A-Za-z0-9_]+__")

AIRFLOW_HOME = "/opt/airflow"
PROJECT_MOUNTS = {  # container path -> host path (bind mounts of the repository's folders)
    f"{AIRFLOW_HOME}/dags": "./dags",
    f"{AIRFLOW_HOME}/dbt_project": "./dbt_project",
    f"{AIRFLOW_HOME}/expectations": "./expectations",
    f"{AIRFLOW_HOME}/plugins": "./plugins",
}
SEND_DATA = f"{AIRFLOW_HOME}/send-data"

# Long-running Airflow components: service name -> command.
COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
# Components that run pipeline code (tasks, DAG parsing and callbacks, triggers).
PIPELINE_COMPONENTS = ("airflow-worker", "airflow-dag-processor", "airflow-triggerer")
PIPELINE_ONLY_ENV = ("WAREHOUSE_URL", "CASEWORK_DB_URL", "SOCIALCARE_API_TOKEN")
PIPELINE_ENV = ("WAREHOUSE_URL", "CASEWORK_DB_URL", "EDUCATION_DROP_DIR", "SOCIALCARE_API_URL", "SOCIALCARE_API_TOKEN")
COMMON_ENV = {  # on every Airflow service, with these values
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/London",
    "SEND_HOME": SEND_DATA,
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}
COMMON_ENV_SET = (  # on every Airflow service, value from the environment
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API__BASE_URL",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
)


# --- helpers ----------------------------------------------------------------------------------


def resolve(text: str) -> str:
    """Interpolate as compose would, with a marker for each value that must come from the environment."""

    def one(match: re.Match[str]) -> str:
        op, arg = match["op"] or "", match["arg"] or ""
        if op in (":-", "-"):
            return arg
        kind = "REQUIRED" if op in (":?", "?") else "OPTIONAL"
        return f"__{kind}_{match['name']}__"

    return REF.sub(one, text).replace("$$", "$")


def strings(node: object) -> Iterator[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def mounts_of(service: dict) -> dict[str, tuple[str, bool]]:
    """Container path -> (source, read_only) for every volume of a service."""
    out = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out[volume["target"]] = (volume.get("source", ""), bool(volume.get("read_only")))
            continue
        source, target, *mode = resolve(volume).split(":")
        out[target] = (source, bool(mode) and "ro" in mode[0].split(","))
    return out


def url_host(url: str) -> str | None:
    return urlsplit(resolve(url)).hostname


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def airflow_pin() -> str:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [d.split("==", 1)[1].strip() for d in deps if re.match(r"apache-airflow\s*==", d)]
    assert len(pins) == 1, "pyproject.toml must pin apache-airflow==X.Y.Z exactly once"
    return pins[0]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_services(services: dict[str, dict]) -> dict[str, dict]:
    """The services that run the project's Airflow image (all built from ./Dockerfile)."""
    found = {name: svc for name, svc in services.items() if "build" in svc}
    assert found, "no service builds the Airflow image"
    return found


# --- services ---------------------------------------------------------------------------------


def test_required_services_exist(services):
    required = {*COMPONENTS, "airflow-init", "redis", "postgres", "warehouse"}
    assert required <= set(services), f"missing services: {sorted(required - set(services))}"
    for name, command in COMPONENTS.items():
        got = services[name].get("command")
        assert (" ".join(got) if isinstance(got, list) else got) == command, name


def test_init_migrates_the_database_and_creates_the_admin_user(services):
    init = services["airflow-init"]
    env = env_of(init)
    assert env.get("_AIRFLOW_DB_MIGRATE") == "true"
    assert env.get("_AIRFLOW_WWW_USER_CREATE") == "true"
    assert "_AIRFLOW_WWW_USER_USERNAME" in env and "_AIRFLOW_WWW_USER_PASSWORD" in env
    assert "/entrypoint airflow version" in "\n".join(init["command"]), "the entrypoint runs the migration"
    assert "profiles" not in init
    for name in COMPONENTS:
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}


def test_executor_is_celery_with_redis_broker_and_postgres_result_backend(services, airflow_services):
    for name, svc in airflow_services.items():
        env = env_of(svc)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker, backend = resolve(env["AIRFLOW__CELERY__BROKER_URL"]), resolve(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        assert urlsplit(broker).scheme == "redis", name
        assert services[urlsplit(broker).hostname]["image"].startswith("redis:"), name
        assert urlsplit(backend).scheme.startswith("db+postgresql"), name
        assert urlsplit(backend).hostname == url_host(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]) == "postgres"
        assert services["postgres"]["image"].startswith("postgres:")


def test_image_is_built_from_the_dockerfile(airflow_services):
    assert DOCKERFILE.is_file()
    assert set(COMPONENTS) | {"airflow-init"} <= set(airflow_services)
    images = {resolve(svc["image"]) for svc in airflow_services.values()}
    assert len(images) == 1, f"one image for every Airflow service, not {images}"
    for name, svc in airflow_services.items():
        build = svc["build"]
        assert (build if isinstance(build, str) else build.get("context")) == ".", name
    # The default tag names the Airflow version the image is built from.
    assert images.pop().rpartition(":")[2] == airflow_pin()


@pytest.mark.parametrize("name", [*COMPONENTS, "airflow-init"])
def test_project_mounts_on_every_airflow_service(airflow_services, compose, name):
    mounts = mounts_of(airflow_services[name])
    for target, source in PROJECT_MOUNTS.items():
        assert target in mounts, f"{name}: {target} not mounted"
        assert mounts[target][0] == source, f"{name}: {target} from {mounts[target][0]}, not {source}"
    assert SEND_DATA in mounts, f"{name}: {SEND_DATA} not mounted"
    assert mounts[SEND_DATA][0] == "send-data"
    assert "send-data" in (compose.get("volumes") or {}), "send-data must be a named volume"


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for source, _ in mounts_of(svc).values():
            if source and not source.startswith(("/", ".", "~", "__")):
                assert source in declared, f"{name}: volume {source} is not declared"


def test_healthchecks_and_healthy_dependencies(services):
    for name in ("postgres", "redis", "warehouse", *COMPONENTS):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in COMPONENTS:
        depends = services[name].get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for dependency in ("postgres", "redis"):
            assert depends.get(dependency) == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    assert services["airflow-worker"]["depends_on"]["warehouse"] == {"condition": "service_healthy"}
    # A service_healthy condition on a service without a health check would never be met.
    for name, svc in services.items():
        for dependency, spec in (svc.get("depends_on") or {}).items():
            if spec.get("condition") == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits on {dependency}"


# --- environment ------------------------------------------------------------------------------


def test_common_environment_on_every_airflow_service(airflow_services):
    for name, svc in airflow_services.items():
        env = env_of(svc)
        for key, value in COMMON_ENV.items():
            assert env.get(key) == value, f"{name}: {key}={env.get(key)!r}, want {value!r}"
        for key in COMMON_ENV_SET:
            assert env.get(key), f"{name}: {key} missing"
        assert url_host(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]) == "airflow-apiserver", name


@pytest.mark.parametrize("name", PIPELINE_COMPONENTS)
def test_pipeline_environment_where_pipeline_code_runs(services, name):
    svc = services[name]
    env = env_of(svc)
    for key in PIPELINE_ENV:
        assert env.get(key), f"{name}: {key} missing"
    assert url_host(env["WAREHOUSE_URL"]) == "warehouse"
    assert urlsplit(resolve(env["WAREHOUSE_URL"])).path.lstrip("/") == resolve(
        env_of(services["warehouse"])["POSTGRES_DB"]
    )
    # The education drop folder is a read-only bind mount at EDUCATION_DROP_DIR.
    drop = mounts_of(svc).get(env["EDUCATION_DROP_DIR"])
    assert drop is not None, f"{name}: nothing mounted at EDUCATION_DROP_DIR"
    source, read_only = drop
    assert read_only, f"{name}: the education drop folder must be mounted read-only"
    assert REQUIRED_MARKER.fullmatch(source), f"{name}: the drop folder's host path must come from .env"


@pytest.mark.parametrize("name", ["airflow-apiserver", "airflow-scheduler"])
def test_source_credentials_stay_out_of_components_that_run_no_pipeline_code(services, name):
    env = env_of(services[name])
    assert not set(PIPELINE_ONLY_ENV) & set(env), f"{name} needs no source or warehouse credentials"


# --- the warehouse ----------------------------------------------------------------------------


def test_warehouse_is_its_own_postgres_service_and_volume(services):
    warehouse, metadata = services["warehouse"], services["postgres"]
    image, _, tag = warehouse["image"].partition(":")
    major = int(re.match(r"\d+", tag).group())
    assert image == "postgres" and major in (17, 18), warehouse["image"]
    # Only the owner's credentials, from the environment.
    env = env_of(warehouse)
    assert set(env) <= {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}, sorted(env)
    assert REQUIRED_REF.fullmatch(env["POSTGRES_PASSWORD"])
    # Its own volume at the data directory of its major version.
    data_dir = "/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data"
    warehouse_volume = mounts_of(warehouse)[data_dir][0]
    metadata_volumes = {source for source, _ in mounts_of(metadata).values()}
    assert warehouse_volume and warehouse_volume not in metadata_volumes
    # Airflow's metadata database is the other service.
    for svc in (s for s in services.values() if "build" in s):
        assert url_host(env_of(svc)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]) == "postgres"


# --- secrets and variables --------------------------------------------------------------------


def test_every_variable_is_documented_in_env_example(compose):
    text = list(strings(compose))
    used = {m["name"] for s in text for m in REF.finditer(s)}
    bare = {m["name"] for s in text for m in BARE_REF.finditer(s)}
    assert not bare, f"write variables as ${{NAME}}: {sorted(bare)}"
    documented = set(env_example())
    assert not used - documented, f"not in .env.example: {sorted(used - documented)}"
    assert not documented - used, f"in .env.example but unused: {sorted(documented - used)}"


def test_env_example_explains_every_variable():
    previous = ""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert previous.startswith("#"), f".env.example: no comment line above {line!r}"
        previous = line


def test_env_example_holds_no_secret():
    for name, value in env_example().items():
        if SECRET_NAME.search(name) or URL_WITH_PASSWORD.search(value):
            assert value == "", f".env.example: {name} must be left empty"


def test_secrets_come_from_the_environment(compose, services):
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_REF.fullmatch(value), f"{name}: {key} must be ${{VAR:?message}}, not {value!r}"
    for value in strings(compose):
        # No secret-looking variable has a default written here.
        for match in REF.finditer(value):
            if SECRET_NAME.search(match["name"]):
                assert match["op"] in (":?", "?"), f"${{{match['name']}}} must be required: {value!r}"
        # Passwords inside URLs are required variables too.
        for match in URL_WITH_PASSWORD.finditer(resolve(value)):
            assert REQUIRED_MARKER.fullmatch(match["password"]), f"literal password in {value!r}"
    for svc in services.values():
        command = svc.get("command")
        if isinstance(command, list):
            for flag, arg in zip(command, command[1:], strict=False):
                if re.fullmatch(r"--\S*(pass|password|secret|token)\S*", str(flag)):
                    assert REQUIRED_REF.fullmatch(arg), f"literal secret after {flag}"


def test_dot_env_is_git_ignored():
    if not shutil.which("git") or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        run = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, check=False)
        return run.returncode == 0

    assert ignored(".env"), ".env holds the deployment's secrets: add it to .gitignore"
    assert not ignored(".env.example")


# --- Dockerfile and .dockerignore -------------------------------------------------------------


def test_dockerfile_from_matches_the_airflow_pin():
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert len(froms) == 1, froms
    match = re.fullmatch(r"apache/airflow:(?P<version>\d+\.\d+\.\d+)-python(?P<python>3\.\d+)", froms[0])
    assert match, f"FROM apache/airflow:X.Y.Z-python3.N, not {froms[0]}"
    assert match["version"] == airflow_pin()
    requires = tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"]
    assert f">={match['python']}" in requires.replace(" ", ""), f"python{match['python']} vs {requires}"


def test_dockerfile_installs_the_package_with_the_constraints_as_airflow():
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] == "airflow", "install and run as the airflow user"
    copied = " ".join(re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE))
    for item in ("pyproject.toml", "constraints.txt", "README.md", "send_warehouse/"):
        assert item in copied, f"Dockerfile does not copy {item}"
    install = re.search(r"pip install[^\n]*", text.replace("\\\n", " "))
    assert install, "no pip install"
    command = install.group()
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in command
    assert re.search(r"(--constraint|-c)\s+\S*constraints\.txt", command)


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build():
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip()}
    for pattern in (".venv", ".send", ".git", ".env", "dbt_project/target"):
        assert pattern in patterns, f".dockerignore: {pattern}"
