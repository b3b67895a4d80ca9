"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polling 10x a second instead of once.

kombu hands every transport option to ``create_engine`` for this transport, so ``polling_interval`` (read by
the transport itself) must be kept away from it. The transport registers under the alias ``patchhub-sqla``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy

ALIAS = "patchhub-sqla"
POLLING_INTERVAL_SECONDS = 0.1


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self) -> Any:
        client = self.connection.client
        options = client.transport_options
        client.transport_options = {k: v for k, v in options.items() if k != "polling_interval"}
        try:
            return super()._engine_from_config()
        finally:
            client.transport_options = options


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel


TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"


def embedded_broker_url(sqlite_path: str) -> str:
    return f"{ALIAS}+sqlite:///{sqlite_path}"
