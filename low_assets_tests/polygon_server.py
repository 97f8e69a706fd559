"""A Polygon-compatible HTTP server on 127.0.0.1 for tests, scripted per day.

It answers the two endpoints low_assets calls, in the shapes the live API uses:

- `GET /v2/aggs/grouped/locale/us/market/stocks/{date}`: `{"queryCount", "resultsCount",
  "adjusted", "results": [...], "status": "OK", "request_id", "count"}`; a day with no bars has
  no `results` key at all, as on a market holiday.
- `GET /v3/reference/splits`: `{"results": [...], "status": "OK", "request_id", "next_url"}`,
  paginated with a `cursor` query parameter in `next_url`.

Every request must carry `Authorization: Bearer <api_key>`, else the answer is 401. Each request
is recorded (monotonic time, path, query, whether it was authorised) so tests can check retries
and pacing.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd

GROUPED_PREFIX = "/v2/aggs/grouped/locale/us/market/stocks/"
SPLITS_PATH = "/v3/reference/splits"
MARKET_TZ = "America/New_York"


@dataclass(frozen=True)
class HttpError:
    """Answer with this HTTP status and Polygon's error body."""

    status: int


@dataclass(frozen=True)
class Stall:
    """Hold the answer back for this many seconds (longer than the client's timeout)."""

    seconds: float


@dataclass
class DayScript:
    """What the server does for one day: scripted faults first, then the bars (None: no results
    key); `forever` replaces the bars with a fault on every request."""

    bars: list[dict] | None = None
    faults: list = field(default_factory=list)
    forever: HttpError | Stall | None = None


@dataclass(frozen=True)
class RecordedRequest:
    at: float
    path: str
    query: dict[str, str]
    authorized: bool


def stamp_millis(day: str, hour: int = 16) -> int:
    """Unix milliseconds of `hour`:00 New York time on day (16: grouped daily; 0: range bars)."""
    local = pd.Timestamp(day) + pd.Timedelta(hours=hour)
    return int(local.tz_localize(MARKET_TZ).tz_convert("UTC").value // 1_000_000)


def grouped_bar(
    ticker: str,
    day: str,
    o: float,
    h: float,
    low: float,
    c: float,
    v: float,
    vw: float | None = None,
    n: int | None = None,
    hour: int = 16,
) -> dict:
    """One grouped-daily result as Polygon sends it; vw / n left out when None, as the API does."""
    bar = {"T": ticker, "v": v, "o": o, "c": c, "h": h, "l": low, "t": stamp_millis(day, hour)}
    if vw is not None:
        bar["vw"] = vw
    if n is not None:
        bar["n"] = n
    return bar


class FakePolygon:
    """A threaded Polygon look-alike; `start()` binds an ephemeral port on 127.0.0.1."""

    def __init__(self, api_key: str, splits_page_size: int = 2):
        self.api_key = api_key
        self.splits_page_size = splits_page_size
        self.days: dict[str, DayScript] = {}
        self.splits: list[dict] = []
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakePolygon":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_bars(self, day: str, bars: list[dict] | None, faults=(), forever=None) -> None:
        self.days[day] = DayScript(bars=bars, faults=list(faults), forever=forever)

    def grouped_requests(self, day: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(GROUPED_PREFIX)
                and (day is None or r.path == GROUPED_PREFIX + day)
            ]

    def splits_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == SPLITS_PATH]

    def _record(self, path: str, query: dict[str, str], authorized: bool) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(time.monotonic(), path, query, authorized))

    def _next_fault(self, day: str):
        with self._lock:
            script = self.days.get(day)
            if script is None:
                return None
            if script.faults:
                return script.faults.pop(0)
            return script.forever

    def _grouped_answer(self, day: str, query: dict[str, str]) -> dict:
        script = self.days.get(day) or DayScript()
        body = {
            "queryCount": len(script.bars or []),
            "resultsCount": len(script.bars or []),
            "adjusted": query.get("adjusted", "true") == "true",
            "status": "OK",
            "request_id": uuid.uuid4().hex,
        }
        if script.bars:
            body["results"] = script.bars
            body["count"] = len(script.bars)
        return body

    def _splits_answer(self, query: dict[str, str]) -> dict:
        since = query.get("execution_date.gte", "")
        matching = sorted(
            (s for s in self.splits if s["execution_date"] >= since),
            key=lambda s: (s["execution_date"], s["ticker"]),
            reverse=True,
        )
        start = int(query.get("cursor") or 0)
        page = matching[start : start + self.splits_page_size]
        body = {"results": page, "status": "OK", "request_id": uuid.uuid4().hex}
        if start + self.splits_page_size < len(matching):
            cursor = urlencode({"cursor": start + self.splits_page_size})
            body["next_url"] = f"{self.base_url}{SPLITS_PATH}?{cursor}"
        return body


def _handler_for(server: FakePolygon) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args) -> None:  # noqa: A002
            return

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            authorized = self.headers.get("Authorization") == f"Bearer {server.api_key}"
            server._record(url.path, query, authorized)
            if not authorized:
                self._send(401, {"status": "ERROR", "error": "Unknown API Key"})
                return
            if url.path.startswith(GROUPED_PREFIX):
                day = url.path[len(GROUPED_PREFIX) :]
                fault = server._next_fault(day)
                if isinstance(fault, Stall):
                    server._closing.wait(fault.seconds)
                elif isinstance(fault, HttpError):
                    self._send(fault.status, {"status": "ERROR", "error": "scripted failure"})
                    return
                self._send(200, server._grouped_answer(day, query))
            elif url.path == SPLITS_PATH:
                self._send(200, server._splits_answer(query))
            else:
                self._send(404, {"status": "NOT_FOUND", "message": "Not found"})

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up waiting (a scripted stall); nobody is left to answer.
                pass

    return Handler
