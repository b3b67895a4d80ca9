"""Where the SDK finds its service URL, token and cache directory.

Order: an explicit argument, then the environment (``PATCHHUB_URL``, ``PATCHHUB_TOKEN``,
``PATCHHUB_CACHE``), then the file ``patchhub login`` writes (``~/.config/patchhub/config.json``, mode
0600; ``PATCHHUB_CONFIG`` names another). The stored token is only sent to the URL it was stored for.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class StoredLogin:
    url: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"StoredLogin(url={self.url!r}, token={'***' if self.token else None})"


def config_path() -> Path:
    if os.environ.get("PATCHHUB_CONFIG"):
        return Path(os.environ["PATCHHUB_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "patchhub" / "config.json"


def read_login(path: Path | None = None) -> StoredLogin:
    path = path or config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return StoredLogin()
    if not isinstance(data, dict):
        return StoredLogin()
    url, token = data.get("url"), data.get("token")
    return StoredLogin(url if isinstance(url, str) else None, token if isinstance(token, str) else None)


def write_login(login: StoredLogin, path: Path | None = None) -> Path:
    """Write the login atomically, readable by the owner only (0600 from the first byte)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump({"url": login.url, "token": login.token}, handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _same_service(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def resolve_base_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("PATCHHUB_URL") or read_login().url or DEFAULT_BASE_URL
    return url.rstrip("/")


def resolve_token(base_url: str, explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("PATCHHUB_TOKEN"):
        return os.environ["PATCHHUB_TOKEN"]
    stored = read_login()
    if stored.token and stored.url and _same_service(stored.url, base_url):
        return stored.token
    return None


def resolve_cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get("PATCHHUB_CACHE"):
        return Path(os.environ["PATCHHUB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "patchhub"
