"""The database stopped or hung under a live server: 503 with Retry-After within a bounded time, /healthz
unaffected, and recovery without anyone stepping in (DESIGN invariant 9). The Postgres is the test's own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from registry.settings import Settings
from tests.fixtures.private_postgres import PostgresServer
from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace, start_live_server

# Short deadlines so the test is quick; docs/resilience.md gives the defaults.
STATEMENT_TIMEOUT = 1.0
CONNECT_TIMEOUT = 2.0
POOL_TIMEOUT = 5.0  # 50 requests share 15 connections on a busy machine
POOLED = 15  # SQLAlchemy's pool: 5 connections and 10 overflow
# The longest a request may take while the database is away: a pool wait, a pre-ping on a hung
# connection (statement timeout + the client's grace), a reconnect, and slack for this busy machine.
ANSWER_BOUND = POOL_TIMEOUT + STATEMENT_TIMEOUT + 2 + CONNECT_TIMEOUT + 6


@pytest.fixture(scope="module")
def faulty_server(private_postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("db-faults")),
        database_url=private_postgres.url,
        database_connect_timeout_seconds=CONNECT_TIMEOUT,
        database_statement_timeout_seconds=STATEMENT_TIMEOUT,
        database_pool_timeout_seconds=POOL_TIMEOUT,
    )
    live, server, thread = start_live_server(settings, "private-postgres")
    yield live
    server.should_exit = True
    thread.join(timeout=10)
    live.runtime.close()


@pytest.fixture(scope="module")
def team(faulty_server: LiveServer) -> NamespaceAccess:
    access = make_namespace(faulty_server, "faults")
    with faulty_server.client(access.write_token) as client:
        client.post("/v1/models", json={"namespace": access.name, "name": "net", "arch": "mlp"}).raise_for_status()
    return access


def _timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def _assert_unavailable(response: httpx.Response, elapsed: float) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < ANSWER_BOUND


def _wait_until_served(client: httpx.Client, path: str, timeout: float = 60) -> None:
    """Poll until the service answers 200 again by itself; any answer but 200/503 is a failure."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        if response.status_code == 200:
            return
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, "the service did not recover after the database came back"
        time.sleep(0.2)


def test_stopped_database_gives_503_and_the_service_recovers(
    faulty_server: LiveServer, team: NamespaceAccess, private_postgres: PostgresServer
) -> None:
    model_path = f"/v1/models/{team.name}/net"
    with faulty_server.client(team.write_token) as client:
        assert client.get(model_path).status_code == 200
        private_postgres.stop()
        try:
            _assert_unavailable(*_timed(client, "GET", model_path))
            body = {"namespace": team.name, "name": "other", "arch": "mlp"}
            _assert_unavailable(*_timed(client, "POST", "/v1/models", json=body))
            health, elapsed = _timed(client, "GET", "/healthz")
            assert health.status_code == 200 and elapsed < 2
        finally:
            private_postgres.start()
        _wait_until_served(client, model_path)
        assert client.post("/v1/models", json=body).status_code == 201


def test_hung_database_answers_in_bounded_time_and_recovers_without_pool_errors(
    faulty_server: LiveServer, team: NamespaceAccess, private_postgres: PostgresServer
) -> None:
    model_path = f"/v1/models/{team.name}/net"
    waiting = 50  # more than the pool has connections (15) and the server has worker threads (40)
    clients = [faulty_server.client(team.read_token) for _ in range(waiting)]
    try:
        with ThreadPoolExecutor(waiting) as pool:
            # Fill the pool (5 connections + 10 overflow) with connections the hang will freeze.
            warm = [r.status_code for r in pool.map(lambda c: c.get(model_path), clients[:POOLED])]
            assert warm == [200] * POOLED
            private_postgres.hang()
            try:
                answers = pool.map(lambda c: _timed(c, "GET", model_path), clients)
                with httpx.Client(base_url=faulty_server.url) as probe:
                    health, elapsed = _timed(probe, "GET", "/healthz")
                assert health.status_code == 200 and elapsed < 1  # measured: 0.07 s (2 s when it needed a thread)
                for response, took in answers:
                    _assert_unavailable(response, took)
            finally:
                private_postgres.resume()
            _wait_until_served(clients[0], model_path)
            # Every connection the hang froze was dropped: the whole pool serves again. (More requests than
            # connections may wait past the pool timeout on a busy machine: that is a 503, never a 500.)
            crowd = {r.status_code for r in pool.map(lambda c: c.get(model_path), clients)}
            assert crowd <= {200, 503} and 200 in crowd
            again = [r.status_code for r in pool.map(lambda c: c.get(model_path), clients[:POOLED])]
            assert again == [200] * POOLED
    finally:
        for client in clients:
            client.close()
