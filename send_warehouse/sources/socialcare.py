"""Extractor for the children's social care system: a paginated JSON HTTP API (source-systems.md, C).

`iter_children` walks `GET /api/v1/children` page by page and yields every page exactly once, in
order, or raises `SourceError`: it never ends early with partial results, so a caller landing the
pages in one transaction rolls the night back on failure. Each item is kept twice: parsed (to read
`id` and `updated_at`) and as the exact JSON text the API sent (to land as-is).

Transient trouble is retried with bounded, jittered exponential back-off: HTTP 429 (waiting what
`Retry-After` says, capped at `backoff_max_s`), 408/500/502/503/504, timeouts, connection errors,
and answers that are not the page asked for (invalid or truncated JSON, a repeated or out-of-order
page, a malformed envelope). A rejected token (401/403) and other client errors fail at once.

The API pages by offset, so a child updated while the pages are read moves to the end: it may be
read twice (harmless: staging keeps the latest version per id), and the child that slides back
across a page boundary in its place is not read this night, only when it next changes. No client
can detect that; a full extract (updated_since=None) is the remedy if it matters.

The token is sent only in the Authorization header and never appears in a message or log.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from send_warehouse.config import Settings
from send_warehouse.landing.night import NightLoad
from send_warehouse.sources import SourceError

log = logging.getLogger(__name__)

SOURCE = "socialcare"
CHILDREN_PATH = "/api/v1/children"
MAX_PAGE_SIZE = 500
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

Item = tuple[dict[str, Any], str]

_REFUSED_FIX = (
    "check or renew the API token in SOCIALCARE_API_TOKEN (or the Airflow connection that supplies it) "
    "with the social care system's administrators, then rerun the extract"
)
_RERUN_FIX = (
    "rerun the extract once the social care API is healthy (check its status with the vendor); raise "
    "SOCIALCARE_MAX_RETRIES or SOCIALCARE_TIMEOUT_S if it is merely slow"
)


@dataclass(frozen=True)
class Page:
    """One page of children as the API sent it.

    `items` holds, per child and in the API's order, `(child, raw)`: the parsed JSON object and its
    exact JSON text from the response body (unchanged bytes, decoded as UTF-8).
    """

    number: int
    items: list[Item]
    next_page: int | None


class _Retry(Exception):
    """A transient failure of one attempt: `problem` describes it, `wait` overrides the back-off."""

    def __init__(self, problem: str, kind: str = "server", wait: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.kind = kind
        self.wait = wait


def iter_children(
    base_url: str | None,
    token: str | None,
    updated_since: datetime | None,
    *,
    page_size: int = 500,
    timeout_s: float = 30,
    max_retries: int = 6,
    backoff_base_s: float = 0.5,
    backoff_max_s: float = 60,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Page]:
    """Every page of children updated at or after `updated_since` (all when None), in order.

    Settings are checked at once (SourceError naming the variable to set); HTTP starts on the first
    `next()`. `max_retries` is the number of retries per page after its first attempt.
    """
    root, token = _settings(base_url, token)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise SourceError(SOURCE, f"page size {page_size} is outside the API's 1..{MAX_PAGE_SIZE}",
                          f"set SOCIALCARE_PAGE_SIZE between 1 and {MAX_PAGE_SIZE}")
    if max_retries < 0:
        raise SourceError(SOURCE, f"max retries {max_retries} is negative", "set SOCIALCARE_MAX_RETRIES to 0 or more")
    params: dict[str, str | int] = {"page_size": page_size}
    if updated_since is not None:
        if updated_since.utcoffset() is None:
            raise ValueError("updated_since must be timezone-aware")
        params["updated_since"] = updated_since.isoformat()
    fetch = _Fetcher(root, token, timeout_s, max_retries, backoff_base_s, backoff_max_s, sleep)
    return _pages(fetch, params, session)


def check(
    base_url: str | None,
    token: str | None,
    timeout_s: float = 30,
    *,
    max_retries: int = 2,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Preflight: fetch the first page with one child; raise the extract's SourceErrors."""
    pages = iter_children(base_url, token, None, page_size=1, timeout_s=timeout_s, max_retries=max_retries,
                          session=session, sleep=sleep)
    try:
        next(pages)
    finally:
        pages.close()


def _settings(base_url: str | None, token: str | None) -> tuple[str, str]:
    missing = [name for name, value in (("SOCIALCARE_API_URL", base_url), ("SOCIALCARE_API_TOKEN", token))
               if not (value and value.strip())]
    if missing:
        raise SourceError(SOURCE, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set",
                          f"set {' and '.join(missing)} (or the Airflow connection that supplies them)")
    assert base_url is not None and token is not None
    root = base_url.strip().rstrip("/")
    parts = urlsplit(root)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(SOURCE, "SOCIALCARE_API_URL is not an http(s) URL with a host",
                          "set SOCIALCARE_API_URL to the API's root, e.g. https://socialcare.example.gov.uk")
    token = token.strip()
    if not token.isprintable() or any(c.isspace() for c in token):
        raise SourceError(SOURCE, "SOCIALCARE_API_TOKEN contains spaces or control characters",
                          "set SOCIALCARE_API_TOKEN to the token alone, without 'Bearer' or line breaks")
    return root, token


def _safe_url(url: str) -> str:
    """The URL without credentials, query or fragment: fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _pages(fetch: _Fetcher, params: dict[str, str | int], session: requests.Session | None) -> Iterator[Page]:
    http = session or requests.Session()
    try:
        number = 1
        while True:
            page = fetch.page(http, params, number)
            yield page
            if page.next_page is None:
                return
            number = page.next_page
    finally:
        if session is None:
            http.close()


class _Fetcher:
    def __init__(self, root: str, token: str, timeout_s: float, max_retries: int, backoff_base_s: float,
                 backoff_max_s: float, sleep: Callable[[float], None]) -> None:
        self.url = root + CHILDREN_PATH
        self.where = _safe_url(self.url)
        self.root_where = _safe_url(root)
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.sleep = sleep
        self.jitter = random.Random()  # noqa: S311 - back-off jitter, not security

    def page(self, http: requests.Session, params: dict[str, str | int], number: int) -> Page:
        for attempt in range(self.max_retries + 1):
            try:
                return self._attempt(http, {**params, "page": number}, number)
            except _Retry as retry:
                if attempt == self.max_retries:
                    raise self._gave_up(number, retry) from None
                wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                log.warning("social care page %d: %s; retry %d of %d in %.2fs",
                            number, retry.problem, attempt + 1, self.max_retries, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        """Exponential with equal jitter: between half and all of min(max, base * 2**attempt)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** min(attempt, 30))
        return self.jitter.uniform(ceiling / 2, ceiling)

    def _gave_up(self, number: int, retry: _Retry) -> SourceError:
        attempts = self.max_retries + 1
        problem = (f"page {number} of {self.where} failed {attempts} time{'s' if attempts > 1 else ''}; "
                   f"last attempt: {retry.problem}")
        if retry.kind == "unreachable":
            fix = (f"check SOCIALCARE_API_URL ({self.root_where}) and that the "
                   "host is reachable from the workers (DNS, VPN, firewall), then rerun the extract")
            return SourceError(SOURCE, problem, fix)
        return SourceError(SOURCE, problem, _RERUN_FIX)

    def _redact(self, text: str) -> str:
        return text.replace(self.token, "***")

    def _attempt(self, http: requests.Session, params: dict[str, str | int], number: int) -> Page:
        try:
            response = http.get(self.url, params=params, headers=self.headers, timeout=self.timeout_s)
            body = response.content
        except requests.exceptions.SSLError as exc:
            raise SourceError(SOURCE, f"TLS failed talking to {self.where}: {type(exc).__name__}",
                              "check the API's certificate, or point REQUESTS_CA_BUNDLE at the council's CA "
                              "bundle") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise SourceError(SOURCE, f"SOCIALCARE_API_URL gives an invalid URL ({type(exc).__name__})",
                              "set SOCIALCARE_API_URL to the API's root, e.g. https://socialcare.example.gov.uk"
                              ) from None
        except requests.exceptions.Timeout:
            raise _Retry(f"no answer within {self.timeout_s}s (timeout)", "timeout") from None
        except requests.exceptions.RequestException as exc:
            text = str(exc)
            if "timed out" in text:
                raise _Retry(f"no answer within {self.timeout_s}s (timeout)", "timeout") from None
            reason = re.search(r"\[Errno -?\d+\][^'\")]*", text)
            detail = reason.group(0).strip() if reason else type(exc).__name__
            kind = "unreachable" if isinstance(exc, requests.exceptions.ConnectionError) else "server"
            raise _Retry(f"the connection to {self.where} failed ({self._redact(detail)})", kind) from None

        status = response.status_code
        if status in (401, 403):
            raise SourceError(SOURCE, f"{self.where} refused the token with HTTP {status} on page {number}"
                              f"{self._server_says(body)}", _REFUSED_FIX)
        if status == 429:
            raise _Retry(f"HTTP 429 (rate limited){self._server_says(body)}",
                         wait=self._retry_after(response.headers.get("Retry-After")))
        if status in RETRY_STATUSES or (status >= 500 and status != 501):
            raise _Retry(f"HTTP {status}{self._server_says(body)}")
        if status != 200:
            fix = ("check SOCIALCARE_API_URL is the API's root (without /api/v1)" if status == 404 else
                   "check SOCIALCARE_PAGE_SIZE and the watermark, and that the API still speaks the contract "
                   "in source-systems.md")
            raise SourceError(SOURCE, f"{self.where} answered HTTP {status} on page {number}"
                              f"{self._server_says(body)}", fix)
        return _parse_page(body, number)

    def _retry_after(self, header: str | None) -> float | None:
        if header is None:
            return None
        try:
            seconds = float(header)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                return None
        if not math.isfinite(seconds):
            return None
        return min(max(seconds, 0.0), self.backoff_max_s)

    def _server_says(self, body: bytes) -> str:
        """A short, token-free quote of an error body, e.g. ` (server says: token has expired)`."""
        try:
            document = json.loads(body)
            text = (document.get("message") or document.get("error")) if isinstance(document, dict) else None
        except ValueError:
            text = None
        if not isinstance(text, str) or not text:
            text = body[:200].decode("utf-8", "replace").strip()
        text = self._redact(text)[:200]
        return f" (server says: {text})" if text else ""


_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _parse_page(body: bytes, number: int) -> Page:
    """Check the envelope; keep each item's exact text. Anything off is retried (`_Retry`)."""
    try:
        envelope, items = _split_envelope(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, IndexError) as exc:
        raise _Retry(f"the answer is not valid JSON ({str(exc)[:120]}); it may have been truncated") from None
    answered = envelope.get("page")
    if answered != number or isinstance(answered, bool):
        raise _Retry(f"the API answered page {answered!r} when page {number} was requested "
                     "(a repeated or out-of-order page)")
    if items is None:
        raise _Retry(f"'items' is {'missing' if 'items' not in envelope else 'not a list'}")
    if "next_page" not in envelope or envelope["next_page"] not in (None, number + 1):
        raise _Retry(f"next_page is {envelope.get('next_page')!r}; expected null or {number + 1}")
    for position, (child, _) in enumerate(items, 1):
        if not isinstance(child, dict):
            raise _Retry(f"item {position} is a JSON {type(child).__name__}, not an object")
    if not items and envelope["next_page"] is not None:
        raise _Retry("the page is empty but says more pages follow")
    return Page(number, items, envelope["next_page"])


def _split_envelope(text: str) -> tuple[dict[str, Any], list[Item] | None]:
    """Parse a JSON object; its `items` array comes back as (value, exact text) pairs."""

    def skip(i: int) -> int:
        return _WHITESPACE.match(text, i).end()  # type: ignore[union-attr]

    def expect(i: int, char: str) -> int:
        if text[i] != char:
            raise ValueError(f"expected {char!r} at character {i}")
        return skip(i + 1)

    envelope: dict[str, Any] = {}
    items: list[Item] | None = None
    i = expect(skip(0), "{")
    while text[i] != "}":
        key, i = _DECODER.raw_decode(text, i)
        if not isinstance(key, str):
            raise ValueError(f"expected a key at character {i}")
        i = expect(skip(i), ":")
        if key == "items" and text[i] == "[":
            items, i = [], skip(i + 1)
            while text[i] != "]":
                item, end = _DECODER.raw_decode(text, i)
                items.append((item, text[i:end]))
                i = skip(end)
                if text[i] == ",":
                    i = skip(i + 1)
                    if text[i] == "]":
                        raise ValueError(f"trailing ',' at character {i}")
                elif text[i] != "]":
                    raise ValueError(f"expected ',' or ']' at character {i}")
            i = skip(i + 1)
        else:
            envelope[key], i = _DECODER.raw_decode(text, i)
            i = skip(i)
            if key == "items":
                items = None  # not an array: reported by the caller
        if text[i] == ",":
            i = skip(i + 1)
            if text[i] == "}":
                raise ValueError(f"trailing ',' at character {i}")
        elif text[i] != "}":
            raise ValueError(f"expected ',' or '}}' at character {i}")
    if skip(i + 1) != len(text):
        raise ValueError(f"unexpected data after the object at character {i + 1}")
    return envelope, items


def _parse_updated_at(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"updated_at {value!r} is not an ISO-8601 timestamp")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"updated_at {value!r} is not an ISO-8601 timestamp") from None
    if stamp.tzinfo is None:
        raise ValueError(f"updated_at {value!r} has no UTC offset")
    return stamp


def _unstorable(value: object, path: str = "") -> str | None:
    """Where a decoded child holds text PostgreSQL's jsonb cannot store: a NUL character or an
    unpaired UTF-16 surrogate, both legal as JSON escapes (`\\u0000`, `\\ud800`). Such a child is
    quarantined; letting it through would fail the whole source at the cast to jsonb."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"{path or 'a value'} holds a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path or 'a value'} holds an unpaired surrogate"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        if isinstance(key, str) and (found := _unstorable(key, path)):
            return found
        if found := _unstorable(inner, f"{path}.{key}" if path else str(key)):
            return found
    return None


def land(night: NightLoad, settings: Settings, *, full_refresh: bool = False) -> None:
    """Land the children changed since the previous night's mark (all of them on the first night).

    Each child lands as the JSON the API sent; a child without an id, with text the warehouse cannot
    store, or without a readable updated_at is quarantined with its text. The mark moves to the
    newest updated_at landed, kept in UTC.
    """
    from datetime import timedelta

    from send_warehouse.landing.tables import table

    raw = table(SOURCE, "children")
    mark = None if full_refresh else night.previous_watermark(raw.name)
    since = datetime.fromisoformat(mark) - timedelta(minutes=settings.incremental_lookback_minutes) if mark else None
    high: datetime | None = None
    with night.object(raw, CHILDREN_PATH) as load:
        if since is not None:
            load.note(f"incremental: children updated since {since.isoformat()}")

        def rows() -> Iterator[tuple]:
            nonlocal high
            for page in iter_children(settings.socialcare_api_url or "", settings.socialcare_api_token or "", since,
                                      page_size=settings.socialcare_page_size, timeout_s=settings.socialcare_timeout_s,
                                      max_retries=settings.socialcare_max_retries):
                for position, (item, text) in enumerate(page.items, start=1):
                    child_id = item.get("id")
                    where = f"page {page.number} item {position}"
                    if not isinstance(child_id, str) or not child_id.strip():
                        load.quarantine(where, text, "child has no id")
                        continue
                    # The text is strictly decoded UTF-8, so it holds no surrogate itself: only a
                    # `\u` escape or a raw NUL can put one of them in a value. Walk the child's
                    # values only then, not for every child.
                    if ("\\u" in text or "\x00" in text) and (problem := _unstorable(item)):
                        load.quarantine(f"id={child_id}", text, f"{problem}, which the warehouse cannot store")
                        continue
                    try:
                        stamp = _parse_updated_at(item.get("updated_at"))
                    except ValueError as e:
                        load.quarantine(f"id={child_id}", text, str(e))
                        continue
                    if high is None or stamp > high:
                        high = stamp
                    yield (child_id, stamp, text)

        load.copy_rows(rows())
    night.set_watermark(raw.name, high.astimezone(UTC).isoformat() if high else mark)
