"""One sentence for what is wrong with the database, and the command that fixes it, instead of a traceback."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')
_MISSING_TABLE = re.compile(r'relation "[^"]+" does not exist|no such table')
_FATAL = re.compile(r"FATAL:\s+(.*)")


def redacted_url(url: str | URL) -> str:
    """The URL with its password (if it has one) shown as ***; a URL without one is printed as it is."""
    return make_url(url).render_as_string(hide_password=True)


def _server(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def is_missing_database(error: SQLAlchemyError) -> bool:
    return isinstance(error, DBAPIError) and bool(_MISSING_DATABASE.search(str(error.orig)))


def describe_database_error(error: SQLAlchemyError, url: str | URL) -> str:
    """What a user can act on: the database is missing, the server is unreachable, or it refused us."""
    parsed = make_url(url)
    message = str(error.orig) if isinstance(error, DBAPIError) else str(error)
    if missing := _MISSING_DATABASE.search(message):
        return (
            f'database "{missing.group(1)}" does not exist on {_server(parsed)}; '
            "create it with: patchhub-server db create"
        )
    if _MISSING_TABLE.search(message):
        return "the database has no schema yet; run: patchhub-server db upgrade"
    if fatal := _FATAL.search(message):
        return f"the database server at {_server(parsed)} refused the connection: {fatal.group(1).strip()}"
    if "unable to open database file" in message:
        return f"cannot open the {_server(parsed)} (is its directory there and writable?)"
    first_line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    reason = first_line.rsplit("failed: ", 1)[-1]  # psycopg nests "connection ... failed: <the reason>"
    return f"the database server at {_server(parsed)} is unreachable: {reason}"
