import os
import time

import pytest

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
