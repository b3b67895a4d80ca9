"""The environment of a fresh interpreter running Hugging Face clients in a test: telemetry off, and every
request to a host other than this machine sent to a proxy that is not there, so reaching the internet fails."""

from __future__ import annotations

import os

from tests.fixtures.services import free_port


def sealed_environment(**values: str) -> dict[str, str]:
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    return {
        **os.environ,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HTTP_PROXY": dead_proxy,
        "HTTPS_PROXY": dead_proxy,
        "ALL_PROXY": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        **values,
    }
