"""The simulated children's social care API: serves `DIR/socialcare/children.jsonl` on loopback.

It speaks the vendor contract (source-systems.md, section C) so that local runs and tests exercise
the real extractor over real HTTP:

- `GET /api/v1/children?updated_since=<ISO-8601>&page=<n>&page_size=<1..500>` answers
  `{"items": [...], "page": n, "next_page": n+1 | null}` with the children whose `updated_at` is at
  or after `updated_since` (all when omitted), ordered by (`updated_at`, `id`). `page` defaults to 1
  and `page_size` to 100. Bad parameters answer 400, unknown paths 404, both with a JSON error.
- `GET /api/v1/health` answers 200 without a token (a readiness check).
- A missing or wrong bearer token answers 401. More than `rate_limit` requests a second answer 429
  with `Retry-After` (whole seconds). With `error_rate` > 0, that share of requests answers 500 or
  503, drawn from a seeded RNG so a run is reproducible. `latency_s` delays every page.
- `faults` inject misbehaviour for tests; see `Fault`.

Items are the file's lines verbatim (the simulator writes them in the API's item shape, one child a
line, sorted by id); only each line's `updated_at` is read, so a malformed line reaches the client as
is. The file is indexed once (`updated_at`, byte offset and length per line, in
compact arrays: about 20 bytes a child) and each page reads its lines from disk, so ~2M children
fit comfortably. When the file changes (inode, size or mtime), the next request re-indexes it, so a
long-running server follows the simulator writing the next night.

The token is never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import os
import random
import re
import threading
import time
import weakref
from array import array
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

TOKEN_ENV = "SOCIALCARE_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
CHILDREN_PATH = "/api/v1/children"
HEALTH_PATH = "/api/v1/health"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
FAULT_ACTIONS = ("status", "slow", "truncate", "repeat_page", "expire_token")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_UPDATED_AT = re.compile(rb'"updated_at"\s*:\s*"([^"]*)"')


def children_file(data_dir: Path) -> Path:
    return Path(data_dir) / "socialcare" / "children.jsonl"


@dataclass(frozen=True)
class Fault:
    """One rule of an injected-fault plan; the first rule that matches a request acts on it.

    A rule matches a `/api/v1/children` request when its `page` parameter equals `page` (None: any
    page) and the request is at least the `from_request`-th children request the server has received
    (1-based, counting every children request whatever its outcome; None: any). It acts on the first
    `times` requests it matches (None: on every one).

    Actions:
    - "status": answer `status` (e.g. 401, 429, 500, 503) with a JSON error; a 429 carries
      `Retry-After: retry_after`.
    - "slow": wait `delay_s` seconds, then answer normally (to exceed a client's timeout).
    - "truncate": answer 200 with the page's JSON cut in half.
    - "repeat_page": answer page n with page n-1's content and `"page": n-1` (no effect on page 1).
    - "expire_token": answer 401 "token expired"; `Fault.token_expiry(after=N)` builds the usual
      rule (every request after the first N).
    """

    action: str
    page: int | None = None
    from_request: int | None = None
    times: int | None = 1
    status: int = 503
    retry_after: float = 1
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; expected one of {FAULT_ACTIONS}")
        if self.action == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"a status fault needs a 4xx or 5xx status, not {self.status}")

    @classmethod
    def token_expiry(cls, after: int) -> Fault:
        """The token expires after `after` children requests: every later one answers 401."""
        return cls("expire_token", from_request=after + 1, times=None)

    def matches(self, request_number: int, page: int) -> bool:
        return (self.page is None or self.page == page) and (
            self.from_request is None or request_number >= self.from_request
        )


class DataUnavailable(Exception):
    """The data file is missing or could not be indexed; requests answer 503 with this message."""


def _updated_at_us(line: bytes, lineno: int) -> int:
    found = _UPDATED_AT.findall(line)
    if len(found) == 1:
        raw = found[0].decode("utf-8", "replace")
    else:  # none, or a nested object has one too: only then pay for a full parse
        try:
            child = json.loads(line)
        except ValueError:
            raise ValueError(f"line {lineno}: not valid JSON") from None
        raw = child.get("updated_at") if isinstance(child, dict) else None
    if not isinstance(raw, str):
        raise ValueError(f"line {lineno}: no updated_at")
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"line {lineno}: updated_at {raw!r} is not ISO-8601") from None
    if stamp.utcoffset() is None:
        raise ValueError(f"line {lineno}: updated_at {raw!r} has no UTC offset")
    return (stamp - _EPOCH) // _MICROSECOND


class _Index:
    """Where each child's line is, ordered by (updated_at, file position); the file is sorted by id."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        # Closed when the last request holding this index lets go of it (a newer file replaces it).
        self.close = weakref.finalize(self, os.close, self.fd)
        stat = os.fstat(self.fd)
        self.signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        stamps, offsets, lengths = array("q"), array("q"), array("i")
        offset = 0
        try:
            with open(self.fd, "rb", closefd=False) as lines:
                for lineno, line in enumerate(lines, 1):
                    body = line.rstrip(b"\r\n")
                    if body.strip():
                        stamps.append(_updated_at_us(body, lineno))
                        offsets.append(offset)
                        lengths.append(len(body))
                    offset += len(line)
        except ValueError as exc:
            self.close()
            raise ValueError(f"{path}: {exc}") from None
        order = sorted(range(len(stamps)), key=stamps.__getitem__)  # stable: ties stay in id order
        self.updated_us = array("q", (stamps[i] for i in order))
        self.offsets = array("q", (offsets[i] for i in order))
        self.lengths = array("i", (lengths[i] for i in order))

    def __len__(self) -> int:
        return len(self.offsets)

    def page(self, since_us: int | None, page: int, page_size: int) -> tuple[list[bytes], bool]:
        """The page's lines as stored, and whether more pages follow."""
        first = 0 if since_us is None else bisect_left(self.updated_us, since_us)
        start = first + (page - 1) * page_size
        end = min(start + page_size, len(self))
        lines = [os.pread(self.fd, self.lengths[i], self.offsets[i]) for i in range(start, end)]
        return lines, end < len(self)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _ApiState:
    """Everything the request handlers share; guarded by one lock (requests are small)."""

    def __init__(self, data_dir: Path, token: str, rate_limit: float | None, error_rate: float,
                 latency_s: float, faults: list[Fault], seed: int) -> None:
        self.path = children_file(data_dir)
        self.token = token
        self.rate_limit = rate_limit
        self.error_rate = error_rate
        self.latency_s = latency_s
        self.faults = list(faults)
        self.fault_hits = [0] * len(self.faults)
        self.rng = random.Random(seed)  # noqa: S311 - reproducible faults, not security
        self.lock = threading.Lock()
        self.index_lock = threading.Lock()
        self.index: _Index | None = None
        self.stopping = threading.Event()
        self.bucket = max(1.0, rate_limit or 0.0)
        self.bucket_at = time.monotonic()
        self.children_requests = 0
        self.requests_served = 0
        self.log: deque[tuple[str, int]] = deque(maxlen=100_000)

    def current_index(self) -> _Index:
        signature = _signature(self.path)
        if signature is None:
            raise DataUnavailable(f"{self.path} does not exist yet; run the simulator to write it")
        with self.index_lock:
            if self.index is None or self.index.signature != signature:
                try:
                    fresh = _Index(self.path)
                except (OSError, ValueError) as exc:
                    log.error("cannot index the social care data: %s", exc)
                    raise DataUnavailable(f"the data file cannot be read: {exc}") from None
                self.index = fresh
                log.info("indexed %d children from %s", len(fresh), self.path)
            return self.index

    def authorised(self, header: str | None) -> bool:
        scheme, _, presented = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self.token.encode())

    def take_request_number(self) -> int:
        with self.lock:
            self.children_requests += 1
            return self.children_requests

    def rate_limited(self) -> int | None:
        """Seconds to wait when over the limit (token bucket of `rate_limit` a second), else None."""
        if self.rate_limit is None:
            return None
        with self.lock:
            now = time.monotonic()
            capacity = max(1.0, self.rate_limit)
            self.bucket = min(capacity, self.bucket + (now - self.bucket_at) * self.rate_limit)
            self.bucket_at = now
            if self.bucket >= 1.0:
                self.bucket -= 1.0
                return None
            return max(1, math.ceil((1.0 - self.bucket) / self.rate_limit))

    def fault_for(self, request_number: int, page: int) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.matches(request_number, page) and (fault.times is None or self.fault_hits[i] < fault.times):
                    self.fault_hits[i] += 1
                    return fault
        return None

    def random_error(self) -> int | None:
        if not self.error_rate:
            return None
        with self.lock:
            if self.rng.random() < self.error_rate:
                return self.rng.choice((500, 503))
        return None

    def record(self, path: str, status: int) -> None:
        with self.lock:
            self.requests_served += 1
            self.log.append((path, status))


class _BadRequest(Exception):
    pass


def _query(query: str) -> tuple[int | None, int, int]:
    """(updated_since in epoch microseconds or None, page, page_size) or _BadRequest."""
    params = parse_qs(query, keep_blank_values=True)
    for name, values in params.items():
        if len(values) > 1:
            raise _BadRequest(f"{name} is given more than once")

    def integer(name: str, default: int, low: int, high: int | None) -> int:
        raw = params.get(name, [str(default)])[0]
        try:
            value = int(raw)
        except ValueError:
            raise _BadRequest(f"{name} must be an integer, not {raw!r}") from None
        if value < low or (high is not None and value > high):
            raise _BadRequest(f"{name} must be between {low} and {high}" if high else f"{name} must be >= {low}")
        return value

    page = integer("page", 1, 1, None)
    page_size = integer("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    since_us = None
    if "updated_since" in params:
        raw = params["updated_since"][0]
        try:
            since = datetime.fromisoformat(raw)
        except ValueError:
            raise _BadRequest(
                f"updated_since {raw!r} is not ISO-8601 (percent-encode a '+' offset as %2B)"
            ) from None
        if since.utcoffset() is None:
            raise _BadRequest(f"updated_since {raw!r} needs a UTC offset, e.g. 2024-01-31T00:00:00+00:00")
        since_us = (since - _EPOCH) // _MICROSECOND
    return since_us, page, page_size


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "SocialCareSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        state = self.server.state
        self.status = 0
        url = urlsplit(self.path)
        try:
            if url.path == HEALTH_PATH:
                self._json(200, {"status": "ok"})
            elif url.path == CHILDREN_PATH:
                self._children(state, url.query)
            else:
                self._error(404, "not_found", f"no such endpoint: {url.path}")
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away before %s was answered", self.path)
        finally:
            if not self.status:  # stopped before answering
                state.record(self.path, 0)

    def _children(self, state: _ApiState, query: str) -> None:
        number = state.take_request_number()
        if not state.authorised(self.headers.get("Authorization")):
            return self._error(401, "unauthorized", "missing or invalid bearer token")
        wait = state.rate_limited()
        if wait is not None:
            return self._error(429, "rate_limited", "too many requests", {"Retry-After": str(wait)})
        try:
            since_us, page, page_size = _query(query)
        except _BadRequest as exc:
            return self._error(400, "bad_request", str(exc))
        fault = state.fault_for(number, page)
        if fault is not None:
            if fault.action == "status":
                headers = {"Retry-After": _seconds(fault.retry_after)} if fault.status == 429 else {}
                return self._error(fault.status, "injected_fault", f"injected HTTP {fault.status}", headers)
            if fault.action == "expire_token":
                return self._error(401, "token_expired", "the bearer token has expired")
            if fault.action == "slow" and state.stopping.wait(fault.delay_s):
                return None
        status = state.random_error()
        if status is not None:
            return self._error(status, "server_error", "the service is temporarily unavailable")
        if state.latency_s and state.stopping.wait(state.latency_s):
            return None
        try:
            index = state.current_index()
        except DataUnavailable as exc:
            return self._error(503, "data_unavailable", str(exc))
        answered = page - 1 if fault is not None and fault.action == "repeat_page" and page > 1 else page
        lines, more = index.page(since_us, answered, page_size)
        body = b'{"items": [' + b", ".join(lines) + b'], "page": %d, "next_page": %s}' % (
            answered, str(answered + 1).encode() if more else b"null",
        )
        if fault is not None and fault.action == "truncate":
            body = body[: len(body) // 2]
        return self._send(200, body)

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": code, "message": message}, headers)

    def _json(self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(document).encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.server.state.record(self.path, status)  # before answering, so a client sees it logged
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: _ApiState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class RunningServer:
    """A server answering on a background thread. Use as a context manager, or call `stop()`."""

    def __init__(self, httpd: _Server) -> None:
        self._httpd = httpd
        self.host, self.port = httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        # A short poll interval makes stop() quick (shutdown waits for the loop to look up).
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"socialcare-api-{self.port}", daemon=True)
        self._thread.start()

    @property
    def requests_served(self) -> int:
        return self._httpd.state.requests_served

    @property
    def log(self) -> list[tuple[str, int]]:
        """(request path with query, HTTP status) for each request answered, oldest first."""
        with self._httpd.state.lock:
            return list(self._httpd.state.log)

    def stop(self) -> None:
        state = self._httpd.state
        state.stopping.set()  # ends slow answers and latency waits at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        with state.index_lock:
            if state.index is not None:
                state.index.close()

    def wait(self) -> None:
        """Block until the server stops (or Ctrl-C)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    data_dir: Path,
    port: int = 0,
    token: str | None = None,
    *,
    rate_limit: float | None = None,
    error_rate: float = 0.0,
    latency_s: float = 0.0,
    faults: list[Fault] | None = None,
    seed: int = 0,
    host: str = "127.0.0.1",
) -> RunningServer:
    """Serve `data_dir/socialcare/children.jsonl` on `host:port` (0 = any free port) in the background.

    The token defaults to $SOCIALCARE_API_TOKEN. A malformed data file raises ValueError here; a
    missing one makes requests answer 503 until it appears.
    """
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise ValueError(f"no API token: pass one or set {TOKEN_ENV}")
    if rate_limit is not None and rate_limit <= 0:
        raise ValueError("rate_limit must be positive (or None for no limit)")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError("error_rate must be between 0 and 1")
    if latency_s < 0:
        raise ValueError("latency_s must not be negative")
    state = _ApiState(Path(data_dir), token, rate_limit, error_rate, latency_s, faults or [], seed)
    if state.path.exists():
        state.index = _Index(state.path)
        log.info("indexed %d children from %s", len(state.index), state.path)
    else:
        log.warning("%s does not exist yet; answering 503 until the simulator writes it", state.path)
    return RunningServer(_Server((host, port), state))


def serve_forever(
    data_dir: Path,
    *,
    port: int = 8080,
    token: str | None = None,
    rate_limit: float | None = None,
    error_rate: float = 0.0,
    latency_s: float = 0.0,
    seed: int = 0,
    host: str = "127.0.0.1",
) -> None:
    """Serve until interrupted (Ctrl-C): `send-warehouse serve-socialcare DIR --port P ...`."""
    server = start_server(data_dir, port, token, rate_limit=rate_limit, error_rate=error_rate,
                          latency_s=latency_s, seed=seed, host=host)
    log.info("social care API serving %s at %s/api/v1/ (Ctrl-C to stop)", children_file(data_dir), server.url)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
