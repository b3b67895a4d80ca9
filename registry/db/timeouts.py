"""Every wait on the database has a deadline, so a stopped or hung database gives an error, never a hang.

Three limits (settings ``database_*_timeout_seconds``):
- connect: opening a connection (psycopg's connect_timeout covers the TCP handshake and the startup).
- statement: Postgres cancels a statement that runs longer (``statement_timeout``, row-lock waits included);
  SQLite waits this long for its write lock (``busy_timeout``).
- pool: a request waits this long for a pooled connection before giving up.

A hung server (SIGSTOP, a frozen VM) cannot cancel anything itself: its kernel still accepts packets, so
TCP never notices. ``DeadlineConnection`` therefore also bounds every wait on the server's socket on the
client side (statement timeout plus a grace), closes the connection when that passes, and SQLAlchemy then
drops it from the pool as a disconnect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors

# The server cancels first when it can; the client gives up only when the server cannot answer at all.
CLIENT_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class DatabaseTimeouts:
    connect_seconds: float = 5.0
    statement_seconds: float = 15.0
    pool_seconds: float = 10.0

    @property
    def client_wait_seconds(self) -> float:
        return self.statement_seconds + CLIENT_GRACE_SECONDS


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait for the server ends after ``wait_seconds``."""

    wait_seconds: float = DatabaseTimeouts().client_wait_seconds

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval=interval, timeout=self.wait_seconds if timeout is None else timeout)
        except errors._WaitTimeout:
            # Mid-protocol, the connection is unusable: close it so SQLAlchemy sees a disconnect.
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"the database did not answer within {self.wait_seconds:g} s; connection closed"
            ) from None


def postgres_connect(timeouts: DatabaseTimeouts, cargs: list[Any], cparams: dict[str, Any]) -> DeadlineConnection:
    """Open a connection for SQLAlchemy's ``do_connect`` hook, with all three deadlines applied."""
    options = f"-c statement_timeout={int(timeouts.statement_seconds * 1000)}"
    params = {
        **cparams,
        "connect_timeout": max(2, round(timeouts.connect_seconds)),  # whole seconds, at least 2 (libpq)
        "options": f"{cparams.get('options', '')} {options}".strip(),
    }
    connection = DeadlineConnection.connect(*cargs, **params)
    connection.wait_seconds = timeouts.client_wait_seconds
    return connection
