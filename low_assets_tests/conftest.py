import os
import socket
import time

import google.auth
import pytest
from gcp_storage_emulator.server import create_server
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from low_assets.resources import PolygonBarsSource
from low_assets_tests.polygon_server import FakePolygon

GCS_BUCKET = "low-assets-test"
GCS_PROJECT = "low-assets-test-project"

# Not a real key: the tests look for it in logs, metadata and the event log.
FAKE_POLYGON_KEY = "test-key-7f3c9a1e5b2d"


@pytest.fixture
def fake_polygon():
    """A Polygon look-alike on 127.0.0.1 that knows only FAKE_POLYGON_KEY."""
    server = FakePolygon(api_key=FAKE_POLYGON_KEY).start()
    yield server
    server.stop()


@pytest.fixture
def polygon_source(fake_polygon):
    """PolygonBarsSource aimed at fake_polygon, unpaced and with tiny backoffs; override any
    field: polygon_source(requests_per_minute=300)."""

    def build(**overrides) -> PolygonBarsSource:
        settings = {
            "api_key": FAKE_POLYGON_KEY,
            "base_url": fake_polygon.base_url,
            "requests_per_minute": 600_000,
            "max_attempts": 3,
            "backoff_seconds": 0.01,
            "timeout_seconds": 2.0,
        }
        return PolygonBarsSource(**{**settings, **overrides})

    return build


@pytest.fixture
def host_timezone():
    """Set the process's local time zone for one test: host_timezone("Asia/Tokyo")."""
    before = os.environ.get("TZ")

    def set_zone(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gcs(monkeypatch):
    """An in-memory GCS emulator on 127.0.0.1 with one bucket; the clients reach it through
    STORAGE_EMULATOR_HOST, and only the credential lookup is answered locally."""
    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=GCS_BUCKET)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setattr(
        google.auth, "default", lambda *_, **__: (AnonymousCredentials(), GCS_PROJECT)
    )
    try:
        yield storage.Client(project=GCS_PROJECT)
    finally:
        server.stop()
