"""Where the SDK finds its service URL, token and cache directory.

Order: an explicit argument, then the environment (``PATCHHUB_URL``, ``PATCHHUB_TOKEN``,
``PATCHHUB_CACHE``), then the file ``patchhub login`` writes (``config.json`` in the user config directory,
``~/.config/patchhub`` on Linux, mode 0600; ``PATCHHUB_CONFIG`` names another). The stored token is only
sent to the URL it was stored for; URLs are compared after normalising their spelling (case, default port,
trailing slash), so ``http://LOCALHOST:80/`` and ``http://localhost`` are one service.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import platformdirs

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
APP_NAME = "patchhub"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class StoredLogin:
    url: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"StoredLogin(url={self.url!r}, token={'***' if self.token else None})"


@dataclass(frozen=True)
class Credentials:
    """The token a client sends and where it came from, to explain a refusal without showing the secret."""

    token: str | None
    source: str  # "the token argument", "PATCHHUB_TOKEN", "the login stored in <path>" or "nothing"
    stored_url: str | None = None  # a stored login for another URL, not used for this one

    def refusal_hint(self, base_url: str) -> str:
        """What to do when ``base_url`` answers 401 to these credentials."""
        if self.token is None and self.stored_url is not None:
            return (
                f"no token was sent to {base_url}: the stored login is for {self.stored_url}; "
                f"use that URL or run: patchhub login --url {base_url}"
            )
        if self.token is None:
            return f"no token was sent to {base_url}: run patchhub login --url {base_url}, or set PATCHHUB_TOKEN"
        return f"{base_url} refused the token from {self.source}; run patchhub login --url {base_url} with a valid one"


def normalize_url(url: str) -> str:
    """One spelling per service: lowercase scheme and host, no default port, no trailing slash."""
    url = url.strip()
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has a bad port") from None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def config_path() -> Path:
    if os.environ.get("PATCHHUB_CONFIG"):
        return Path(os.environ["PATCHHUB_CONFIG"]).expanduser()
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / "config.json"


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


def resolve_base_url(explicit: str | None = None) -> str:
    return normalize_url(explicit or os.environ.get("PATCHHUB_URL") or read_login().url or DEFAULT_BASE_URL)


def resolve_credentials(base_url: str, explicit: str | None = None) -> Credentials:
    if explicit:
        return Credentials(explicit, "the token argument")
    if os.environ.get("PATCHHUB_TOKEN"):
        return Credentials(os.environ["PATCHHUB_TOKEN"], "PATCHHUB_TOKEN")
    stored = read_login()
    if stored.token and stored.url:
        if normalize_url(stored.url) == normalize_url(base_url):
            return Credentials(stored.token, f"the login stored in {config_path()}")
        return Credentials(None, "nothing", stored_url=stored.url)
    return Credentials(None, "nothing")


def resolve_token(base_url: str, explicit: str | None = None) -> str | None:
    return resolve_credentials(base_url, explicit).token


def resolve_cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get("PATCHHUB_CACHE"):
        return Path(os.environ["PATCHHUB_CACHE"]).expanduser()
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)
