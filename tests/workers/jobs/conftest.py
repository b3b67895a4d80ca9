from tests.fixtures.private_postgres import private_postgres  # noqa: F401
from tests.fixtures.services import postgres_url  # noqa: F401
from tests.fixtures.workers import jobs_namespace, jobs_server, redis_server, start_worker  # noqa: F401
from tests.workers.jobs.inprocess import runtime  # noqa: F401
