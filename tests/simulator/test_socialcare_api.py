"""The simulated social care API, spoken to over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import requests

from send_warehouse.simulator.socialcare_api import Fault, start_server

TOKEN = "sim-token-4f2a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def child(n: int, updated_at: str) -> dict:
    return {"id": f"LCS-{n:06d}", "nhs_number": None, "upn": None, "first_name": "Ada", "last_name": f"Child{n}",
            "date_of_birth": "2015-03-01", "gender": "female", "postcode": None, "updated_at": updated_at,
            "involvements": [{"type": "CIN", "start_date": "2023-01-01", "end_date": None, "team": "North"}]}


def write_children(data_dir: Path, children: list[dict]) -> list[str]:
    """Write the file as the simulator does (sorted by id); return the lines as written."""
    lines = [json.dumps(c) for c in sorted(children, key=lambda c: c["id"])]
    path = data_dir / "socialcare" / "children.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return lines


# Twelve children over three days; same instants written with different offsets sort together.
STAMPS = ["2024-03-01T09:00:00+00:00", "2024-03-01T10:00:00+01:00", "2024-03-02T09:00:00Z",
          "2024-03-03T09:00:00+00:00"]
CHILDREN = [child(n, STAMPS[n % 4]) for n in range(12)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_children(tmp_path, CHILDREN)
    return tmp_path


@pytest.fixture
def server(data_dir: Path):
    with start_server(data_dir, token=TOKEN) as running:
        yield running


def get(server, query: str = "", headers: dict | None = None) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/children{query}", headers=AUTH if headers is None else headers,
                        timeout=5)


def test_pages_in_updated_at_then_id_order(server, data_dir: Path):
    lines = (data_dir / "socialcare" / "children.jsonl").read_text().splitlines()
    seen, page = [], 1
    while page is not None:
        body = get(server, f"?page_size=5&page={page}").json()
        assert body["page"] == page
        seen += body["items"]
        page = body["next_page"]
    # 09:00Z and 10:00+01:00 are the same instant, so children 0,1,4,5,8,9 tie and come in id order.
    assert [c["id"] for c in seen] == [f"LCS-{n:06d}" for n in (0, 1, 4, 5, 8, 9, 2, 6, 10, 3, 7, 11)]
    assert len(seen) == len(CHILDREN)
    # Items are the file's lines verbatim.
    raw = get(server, "?page_size=500").text
    assert all(line in raw for line in lines)


def test_updated_since_is_inclusive_and_offset_aware(server):
    body = get(server, "?updated_since=2024-03-02T10:00:00%2B01:00&page_size=500").json()  # = 09:00Z
    assert [c["id"] for c in body["items"]] == ["LCS-000002", "LCS-000006", "LCS-000010",
                                               "LCS-000003", "LCS-000007", "LCS-000011"]
    assert body["next_page"] is None
    assert get(server, "?updated_since=2030-01-01T00:00:00Z").json() == {"items": [], "page": 1, "next_page": None}


def test_last_page_and_beyond(server):
    assert get(server, "?page_size=6&page=2").json()["next_page"] is None
    assert get(server, "?page_size=6&page=9").json() == {"items": [], "page": 9, "next_page": None}


@pytest.mark.parametrize("query", ["?page=0", "?page=x", "?page_size=0", "?page_size=501", "?page_size=",
                                   "?updated_since=yesterday", "?updated_since=2024-03-01T00:00:00",
                                   "?updated_since=2024-03-01T00:00:00+00:00", "?page=1&page=2"])
def test_bad_parameters_answer_400_with_a_json_error(server, query: str):
    response = get(server, query)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and response.json()["message"]


def test_page_size_bounds_are_accepted(server):
    assert len(get(server, "?page_size=1").json()["items"]) == 1
    assert len(get(server, "?page_size=500").json()["items"]) == 12


def test_unknown_path_404_and_health_needs_no_token(server):
    missing = requests.get(f"{server.url}/api/v2/children", headers=AUTH, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert requests.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_missing_or_wrong_token_answers_401(server, headers: dict):
    response = get(server, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert TOKEN not in response.text


def test_token_from_environment(data_dir: Path, monkeypatch):
    monkeypatch.setenv("SOCIALCARE_API_TOKEN", "from-env")
    with start_server(data_dir) as running:
        assert get(running, headers={"Authorization": "Bearer from-env"}).status_code == 200
    monkeypatch.delenv("SOCIALCARE_API_TOKEN")
    with pytest.raises(ValueError, match="SOCIALCARE_API_TOKEN"):
        start_server(data_dir)


def test_rate_limit_answers_429_with_retry_after(data_dir: Path):
    # One request every two seconds: the second of two back-to-back requests is over the limit.
    with start_server(data_dir, token=TOKEN, rate_limit=0.5) as running:
        assert get(running).status_code == 200
        limited = get(running)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"] == "rate_limited"
        assert requests.get(f"{running.url}/api/v1/health", timeout=5).status_code == 200  # not limited


def test_random_errors_are_reproducible_from_the_seed(data_dir: Path):
    def statuses(seed: int) -> list[int]:
        with start_server(data_dir, token=TOKEN, error_rate=0.4, seed=seed) as running:
            return [get(running, "?page_size=3").status_code for _ in range(15)]

    first = statuses(7)
    assert first == statuses(7)
    assert any(s in (500, 503) for s in first) and 200 in first


def test_status_faults_hit_the_first_k_matching_requests(data_dir: Path):
    faults = [Fault("status", page=2, status=503, times=2), Fault("status", page=3, status=429, retry_after=3)]
    with start_server(data_dir, token=TOKEN, faults=faults) as running:
        assert get(running, "?page=1&page_size=2").status_code == 200
        assert [get(running, "?page=2&page_size=2").status_code for _ in range(3)] == [503, 503, 200]
        limited = get(running, "?page=3&page_size=2")
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
        assert get(running, "?page=3&page_size=2").status_code == 200
        assert [status for _, status in running.log] == [200, 503, 503, 200, 429, 200]
        assert running.requests_served == 6


def test_truncate_and_repeat_page_faults(data_dir: Path):
    faults = [Fault("truncate", page=1), Fault("repeat_page", page=3)]
    with start_server(data_dir, token=TOKEN, faults=faults) as running:
        truncated = get(running, "?page_size=4")
        assert truncated.status_code == 200
        with pytest.raises(ValueError):
            json.loads(truncated.text)
        page2 = get(running, "?page=2&page_size=4").json()
        repeated = get(running, "?page=3&page_size=4").json()
        assert repeated == page2 and repeated["page"] == 2
        assert get(running, "?page=3&page_size=4").json()["page"] == 3


def test_slow_fault_delays_the_answer_past_a_client_timeout(data_dir: Path):
    with start_server(data_dir, token=TOKEN, faults=[Fault("slow", page=1, delay_s=2)]) as running:
        with pytest.raises(requests.exceptions.Timeout):
            requests.get(f"{running.url}/api/v1/children", headers=AUTH, timeout=0.3)
        assert get(running).status_code == 200


def test_token_expiry_after_n_requests(data_dir: Path):
    with start_server(data_dir, token=TOKEN, faults=[Fault.token_expiry(after=2)]) as running:
        statuses = [get(running, f"?page={n}&page_size=3").status_code for n in (1, 2, 3, 4)]
        assert statuses == [200, 200, 401, 401]
        assert get(running).json()["error"] == "token_expired"


def test_fault_plan_is_validated():
    with pytest.raises(ValueError, match="unknown fault action"):
        Fault("explode")
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Fault("status", status=200)


def test_follows_the_file_when_it_is_rewritten(server, data_dir: Path):
    assert len(get(server, "?page_size=500").json()["items"]) == 12
    path = data_dir / "socialcare" / "children.jsonl"
    before = path.stat().st_mtime_ns
    write_children(data_dir, [*CHILDREN, child(99, "2024-03-04T00:00:00+00:00")])
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a new mtime even on coarse clocks
    items = get(server, "?page_size=500").json()["items"]
    assert len(items) == 13 and items[-1]["id"] == "LCS-000099"


def test_missing_file_answers_503_until_it_appears(tmp_path: Path):
    with start_server(tmp_path, token=TOKEN) as running:
        response = get(running)
        assert response.status_code == 503
        assert "children.jsonl does not exist" in response.json()["message"]
        write_children(tmp_path, CHILDREN[:3])
        assert len(get(running).json()["items"]) == 3


def test_malformed_file_is_refused_with_its_line_number(tmp_path: Path):
    write_children(tmp_path, CHILDREN[:2])
    path = tmp_path / "socialcare" / "children.jsonl"
    with path.open("a") as f:
        f.write(json.dumps({"id": "LCS-900000", "updated_at": "2024-03-01T09:00:00"}) + "\n")
    with pytest.raises(ValueError, match="line 3: .* has no UTC offset"):
        start_server(tmp_path, token=TOKEN)


def test_a_nested_updated_at_does_not_confuse_the_index(tmp_path: Path):
    late = child(2, "2024-06-01T00:00:00+00:00")
    # The nested stamp comes first on the line, before the child's own.
    late = {"involvements": [{"type": "CIN", "updated_at": "2020-01-01T00:00:00+00:00"}],
            **{k: v for k, v in late.items() if k != "involvements"}}
    write_children(tmp_path, [child(1, "2024-01-01T00:00:00+00:00"), late])
    with start_server(tmp_path, token=TOKEN) as running:
        body = get(running, "?updated_since=2024-03-01T00:00:00Z").json()
        assert [c["id"] for c in body["items"]] == ["LCS-000002"]


def test_stop_releases_the_port(data_dir: Path):
    running = start_server(data_dir, token=TOKEN)
    port = running.port
    running.stop()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
