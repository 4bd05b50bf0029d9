"""The social care extractor against the real simulated API on 127.0.0.1.

Nothing of ours is mocked; only `sleep` is replaced by a recorder so back-off costs no time.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from send_warehouse.simulator.socialcare_api import Fault, start_server
from send_warehouse.sources import SourceError
from send_warehouse.sources.socialcare import Page, check, iter_children

TOKEN = "client-secret-9c1d"
SINCE = datetime(2024, 3, 2, tzinfo=UTC)


def write_children(data_dir: Path, count: int) -> list[str]:
    """`count` children, sorted by id; every third one updated before SINCE. Returns the lines."""
    lines = []
    for n in range(count):
        day = 1 if n % 3 == 0 else 2 + n % 5
        lines.append(json.dumps({
            "id": f"LCS-{n:06d}", "nhs_number": None, "upn": None, "first_name": "Zoë", "last_name": f"Child{n}",
            "date_of_birth": "2016-05-04", "gender": "unknown", "postcode": "LS1 4AP",
            "updated_at": f"2024-03-{day:02d}T12:{n % 60:02d}:00+00:00", "involvements": [],
        }, ensure_ascii=False))
    path = data_dir / "socialcare" / "children.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return lines


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_children(tmp_path, 23)
    return tmp_path


@pytest.fixture
def sleeps() -> list[float]:
    return []


def extract(server, sleeps: list[float], updated_since: datetime | None = None, **kwargs) -> list[Page]:
    kwargs.setdefault("page_size", 5)
    kwargs.setdefault("max_retries", 3)
    return list(iter_children(server.url, TOKEN, updated_since, sleep=sleeps.append, **kwargs))


def children_requests(server) -> list[tuple[str, int]]:
    return [(path, status) for path, status in server.log if path.startswith("/api/v1/children")]


def test_pages_every_child_once_in_order_with_updated_since(data_dir: Path, sleeps):
    lines = {json.loads(line)["id"]: line for line in write_children(data_dir, 23)}
    expected = sorted((json.loads(line)["updated_at"], item_id) for item_id, line in lines.items()
                      if json.loads(line)["updated_at"] >= SINCE.isoformat())
    with start_server(data_dir, token=TOKEN) as server:
        pages = extract(server, sleeps, SINCE)
        assert len(expected) == 15
        assert [(p.number, len(p.items), p.next_page) for p in pages] == [(1, 5, 2), (2, 5, 3), (3, 5, None)]
        got = [(child["updated_at"], child["id"]) for p in pages for child, _ in p.items]
        assert got == expected  # each child once, in (updated_at, id) order, older ones filtered out
        assert all(raw == lines[child["id"]] for p in pages for child, raw in p.items)  # kept verbatim
        assert len(children_requests(server)) == 3 and not sleeps
        assert all("updated_since=2024-03-02T00%3A00%3A00%2B00%3A00" in path for path, _ in server.log)

        everything = extract(server, sleeps, None, page_size=500)
        assert [(p.number, len(p.items), p.next_page) for p in everything] == [(1, 23, None)]


def test_an_empty_result_is_one_empty_page(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN) as server:
        pages = extract(server, sleeps, datetime(2030, 1, 1, tzinfo=UTC))
        assert [(p.number, p.items, p.next_page) for p in pages] == [(1, [], None)]


@pytest.mark.parametrize("page_size", [0, 501])
def test_page_size_outside_the_contract_is_refused_before_any_request(data_dir: Path, sleeps, page_size: int):
    with start_server(data_dir, token=TOKEN) as server:
        with pytest.raises(SourceError, match="SOCIALCARE_PAGE_SIZE"):
            extract(server, sleeps, page_size=page_size)
        assert server.requests_served == 0


def test_page_size_bounds_are_allowed(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN) as server:
        assert len(extract(server, sleeps, page_size=1)) == 23
        assert len(extract(server, sleeps, page_size=500)) == 1


def test_wrong_token_fails_at_once_without_the_token(data_dir: Path, sleeps, caplog):
    with start_server(data_dir, token="the-real-token") as server:
        with pytest.raises(SourceError) as failure:
            extract(server, sleeps)
        assert len(children_requests(server)) == 1 and not sleeps  # no retry
    message = str(failure.value)
    assert failure.value.source_system == "socialcare"
    assert "HTTP 401" in message and "SOCIALCARE_API_TOKEN" in message and "page 1" in message
    assert TOKEN not in message and "the-real-token" not in message
    assert TOKEN not in caplog.text


def test_429_waits_exactly_retry_after_capped_at_backoff_max(data_dir: Path, sleeps):
    faults = [Fault("status", page=2, status=429, retry_after=7), Fault("status", page=3, status=429, retry_after=120)]
    with start_server(data_dir, token=TOKEN, faults=faults) as server:
        pages = extract(server, sleeps, backoff_max_s=60)
        assert sleeps == [7, 60]
        assert [p.number for p in pages] == [1, 2, 3, 4, 5]
        assert sum(len(p.items) for p in pages) == 23


def test_500_and_503_are_retried_with_bounded_backoff_then_succeed(data_dir: Path, sleeps, caplog):
    faults = [Fault("status", page=1, status=500), Fault("status", page=2, status=503, times=2)]
    caplog.set_level(logging.WARNING, logger="send_warehouse.sources.socialcare")
    with start_server(data_dir, token=TOKEN, faults=faults) as server:
        pages = extract(server, sleeps, backoff_base_s=1, backoff_max_s=1.5)
        statuses = [status for _, status in children_requests(server)]
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    assert sum(len(p.items) for p in pages) == 23
    assert statuses == [500, 200, 503, 503, 200, 200, 200, 200]
    # Retry 1 waits within [base/2, base], retry 2 within [base, 2*base] capped at max: [0.75, 1.5].
    assert 0.5 <= sleeps[0] <= 1 and 0.5 <= sleeps[1] <= 1 and 0.75 <= sleeps[2] <= 1.5
    retries = [r.getMessage() for r in caplog.records]
    assert len(retries) == 3 and "HTTP 500" in retries[0] and "retry 1 of 3" in retries[0]
    assert "HTTP 503" in retries[2] and "retry 2 of 3" in retries[2] and f"in {sleeps[2]:.2f}s" in retries[2]


def test_persistent_503_fails_loudly_after_max_retries(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN, faults=[Fault("status", page=2, status=503, times=None)]) as server:
        collected = []
        with pytest.raises(SourceError) as failure:
            for page in iter_children(server.url, TOKEN, None, page_size=5, max_retries=3, sleep=sleeps.append):
                collected.append(page.number)
        assert collected == [1]  # page 1 was yielded; the caller's transaction rolls it back
        assert [s for _, s in children_requests(server)] == [200, 503, 503, 503, 503]
    assert len(sleeps) == 3
    message = str(failure.value)
    assert "page 2" in message and "failed 4 times" in message and "HTTP 503" in message
    assert "SOCIALCARE_MAX_RETRIES" in message and "What to do" in message


def test_a_page_slower_than_the_timeout_is_retried(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN, faults=[Fault("slow", page=2, delay_s=3)]) as server:
        pages = extract(server, sleeps, timeout_s=0.3)
    assert [p.number for p in pages] == [1, 2, 3, 4, 5] and len(sleeps) == 1


def test_truncated_json_is_retried(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN, faults=[Fault("truncate", page=3, times=2)]) as server:
        pages = extract(server, sleeps)
    assert [p.number for p in pages] == [1, 2, 3, 4, 5] and len(sleeps) == 2
    assert sum(len(p.items) for p in pages) == 23


def test_a_repeated_page_is_retried_and_never_double_counted(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN, faults=[Fault("repeat_page", page=3)]) as server:
        pages = extract(server, sleeps)
    ids = [child["id"] for p in pages for child, _ in p.items]
    assert len(ids) == len(set(ids)) == 23 and len(sleeps) == 1


def test_a_persistently_repeated_page_fails_loudly(data_dir: Path, sleeps):
    faults = [Fault("repeat_page", page=3, times=None)]
    with (start_server(data_dir, token=TOKEN, faults=faults) as server,
          pytest.raises(SourceError, match=r"page 3 .*answered page 2 when page 3 was requested")):
        extract(server, sleeps, max_retries=2)
    assert len(sleeps) == 2


def test_token_expiring_mid_run_fails_loudly_at_once(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN, faults=[Fault.token_expiry(after=2)]) as server:
        collected = []
        with pytest.raises(SourceError) as failure:
            for page in iter_children(server.url, TOKEN, None, page_size=5, sleep=sleeps.append):
                collected.append(page.number)
    assert collected == [1, 2] and not sleeps
    message = str(failure.value)
    assert "page 3" in message and "token has expired" in message and "renew" in message
    assert TOKEN not in message


def test_unreachable_host_is_retried_then_named_without_credentials(sleeps):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError) as failure:
        list(iter_children(f"http://svc:hunter2@127.0.0.1:{port}/", TOKEN, None, max_retries=2, sleep=sleeps.append))
    message = str(failure.value)
    assert len(sleeps) == 2
    assert f"http://127.0.0.1:{port}" in message and "Connection refused" in message
    assert "hunter2" not in message and "svc" not in message and TOKEN not in message
    assert "SOCIALCARE_API_URL" in message


@pytest.mark.parametrize(("url", "token", "names"), [
    (None, TOKEN, ["SOCIALCARE_API_URL"]),
    ("http://127.0.0.1:1", "", ["SOCIALCARE_API_TOKEN"]),
    (None, None, ["SOCIALCARE_API_URL", "SOCIALCARE_API_TOKEN"]),
])
def test_missing_settings_name_the_variables(url, token, names):
    with pytest.raises(SourceError) as failure:
        iter_children(url, token, None)
    assert all(name in str(failure.value) for name in names)


def test_bad_settings_are_refused():
    with pytest.raises(SourceError, match="not an http"):
        iter_children("socialcare.example", TOKEN, None)
    with pytest.raises(SourceError, match="spaces or control characters"):
        iter_children("http://127.0.0.1:1", "Bearer abc", None)
    with pytest.raises(ValueError, match="timezone-aware"):
        iter_children("http://127.0.0.1:1", TOKEN, datetime(2024, 1, 1))


def test_wrong_base_path_is_a_clear_error(data_dir: Path, sleeps):
    with (start_server(data_dir, token=TOKEN) as server,
          pytest.raises(SourceError, match="HTTP 404.*without /api/v1")):
        list(iter_children(server.url + "/api/v1", TOKEN, None, sleep=sleeps.append))
    assert not sleeps


def test_random_server_errors_still_give_every_page_exactly_once(data_dir: Path, sleeps):
    write_children(data_dir, 60)
    with start_server(data_dir, token=TOKEN, error_rate=0.3, seed=3) as server:
        pages = extract(server, sleeps, page_size=7, max_retries=10)
    ids = [child["id"] for p in pages for child, _ in p.items]
    assert [p.number for p in pages] == list(range(1, 10))
    assert sorted(ids) == [f"LCS-{n:06d}" for n in range(60)] and sleeps


def test_check_passes_and_fails_like_the_extract(data_dir: Path, sleeps):
    with start_server(data_dir, token=TOKEN) as server:
        check(server.url, TOKEN, 5, sleep=sleeps.append)
        assert server.log[-1][0].endswith("page_size=1&page=1")
        with pytest.raises(SourceError, match="HTTP 401"):
            check(server.url, "wrong", 5, sleep=sleeps.append)
    with pytest.raises(SourceError, match="SOCIALCARE_API_URL"):
        check(None, TOKEN, 5)
