"""The service's one settings class. Read from ``PATCHHUB_*`` environment variables (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "patchhub"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATCHHUB_", env_file=".env", extra="ignore")

    # Where the embedded default keeps its SQLite file, blobs and broker.
    data_dir: Path = _default_data_dir()
    # SQLAlchemy URL; empty means SQLite in data_dir. Production: postgresql+psycopg://user@host/db
    database_url: str = ""
    # Deadlines on the database (docs/resilience.md): opening a connection; one statement (Postgres cancels it,
    # SQLite waits this long for its write lock); waiting for a free pooled connection. Past one: 503.
    database_connect_timeout_seconds: float = 5.0
    database_statement_timeout_seconds: float = 15.0
    database_pool_timeout_seconds: float = 10.0
    # Blob store: file:///path or s3://bucket[/prefix]; empty means data_dir/blobs.
    blob_url: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_path_style: bool = True
    s3_part_size: int = 8 * 1024 * 1024
    s3_parts_in_flight: int = 8  # concurrent part uploads per upload (memory: about that many parts)
    s3_max_attempts: int = 5
    # On S3, large bytes skip the API (docs/deploy.md): downloads answer 302 to a presigned URL and the SDK
    # sends upload parts straight to the bucket. False streams everything through the API as on the local store.
    s3_redirects: bool = True
    s3_presign_expiry_seconds: int = 300  # a presigned URL's life; a transfer must start within it
    # The S3 endpoint as clients reach it, for signing those URLs, when the API's own is internal.
    s3_public_endpoint_url: str | None = None

    # Celery broker: redis://host:6379/0 in production; empty means an embedded broker (a SQLite file in
    # data_dir, no server) and `serve` then starts one worker subprocess itself.
    broker_url: str = ""
    # A running job's lease; its worker renews it every third of this. An expired lease (the worker died)
    # makes the job claimable again, and the sweeper re-enqueues it.
    job_lease_seconds: int = 30
    # How often workers sweep for expired leases and queued jobs that never reached the broker.
    job_sweep_seconds: int = 10
    # A job still queued this long after its message was sent is sent again: the broker may have lost it
    # (Redis restarted without persistence). A duplicate is harmless; a job is claimed once.
    job_resend_seconds: int = 300
    # Broker redelivery of unacknowledged messages; longer than the longest job (the lease recovers sooner).
    broker_visibility_timeout_seconds: int = 12 * 3600
    # A job's event stream sends a keep-alive comment after this long without an event, so clients and
    # proxies with a read timeout keep a quiet stream open.
    job_event_keepalive_seconds: float = 15.0

    host: str = "127.0.0.1"
    port: int = 8000

    # Web UI sessions: the key signing session cookies (empty: one generated into data_dir/session-secret;
    # several API processes must share it) and how long a sign-in lasts.
    session_secret: SecretStr | None = None
    session_hours: int = 12

    # Request limits (docs/limits.md): all headers of one request together (over: 431), a JSON body (over: 413),
    # and how deep JSON may nest in a body or in X-Patchhub-Metadata (deeper: 422).
    max_request_headers_bytes: int = 64 * 1024
    max_json_body_bytes: int = 1024 * 1024
    max_json_depth: int = 32

    # Upload limits (safetensors parsing is defensive; see client/patchhub/safetensors_format.py).
    max_header_bytes: int = 16 * 1024 * 1024  # the JSON header; 100,000 tensors with long names fit
    max_tensors: int = 100_000
    max_upload_bytes: int = 1024**4
    # A file of a model folder that is not safetensors (config, tokenizer, card, shard index): stored, never parsed.
    max_folder_file_bytes: int = 64 * 1024**2
    upload_session_ttl_hours: int = 24
    # gc leaves unreferenced blobs and staged parts younger than this alone (uploads in flight).
    gc_grace_minutes: int = 60
    # gc keeps cached composition outputs within this many bytes, deleting the least recently read first.
    composition_cache_max_bytes: int = 10 * 1024**3

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'patchhub.db'}"

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def resolved_broker_url(self) -> str:
        from registry.jobs.embedded_broker import embedded_broker_url

        return self.broker_url or embedded_broker_url(str(self.data_dir / "broker.db"))

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or f"file://{self.data_dir / 'blobs'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
