from tests.fixtures.services import live_server, namespace, postgres_url  # noqa: F401
