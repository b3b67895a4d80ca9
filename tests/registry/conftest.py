from tests.fixtures.private_postgres import private_postgres  # noqa: F401
from tests.fixtures.services import live_server, namespace, postgres_url  # noqa: F401
