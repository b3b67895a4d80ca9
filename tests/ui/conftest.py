"""The UI tests run against the live API on Postgres + S3 with a Redis broker (jobs need a worker), in one
headless chromium shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.services import LiveServer, live_server, namespace, postgres_url  # noqa: F401
from tests.fixtures.workers import jobs_namespace, jobs_server, redis_server, start_worker  # noqa: F401
from tests.ui.browser import Browser


@pytest.fixture(scope="module")
def browser(jobs_server: LiveServer) -> Iterator[Browser]:  # noqa: F811
    chromium = Browser(jobs_server.url)
    yield chromium
    chromium.close()
