import os
import time

import pytest

from low_assets.resources import PolygonBarsSource
from low_assets_tests.polygon_server import FakePolygon

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
