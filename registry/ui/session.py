"""Web sessions: an API token, proven once at sign-in, becomes a signed, expiring, httpOnly cookie that names the
token by id (never its secret). Forms carry a CSRF token that must match a second signed cookie."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from registry.errors import Forbidden
from registry.settings import Settings

SESSION_COOKIE = "patchhub_session"
CSRF_COOKIE = "patchhub_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE_S = 24 * 3600
SECRET_FILE = "session-secret"


def load_session_secret(settings: Settings) -> str:
    """The configured key, or one generated once into the data directory (mode 0600) and reused after."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SessionCookies:
    """Signs and reads the two cookies; one instance per app."""

    secret: str
    max_age_s: int

    def serializer(self, purpose: str, signer: type[TimestampSigner] = TimestampSigner) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=f"patchhub-ui-{purpose}", signer=signer)

    def token_id(self, request: Request) -> int | None:
        """The signed-in token's id, or None (no cookie, tampered, or expired)."""
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            value = self.serializer("session").loads(raw, max_age=self.max_age_s)
        except BadSignature:
            return None
        return value if isinstance(value, int) else None

    def sign_in(self, response: Response, request: Request, token_id: int) -> None:
        self._set(response, request, SESSION_COOKIE, self.serializer("session").dumps(token_id), self.max_age_s)
        # A new session gets a new CSRF token, so one seen before sign-in is worthless after it.
        self.set_csrf(response, request, new_csrf_token())

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")

    def csrf_token(self, request: Request) -> str | None:
        raw = request.cookies.get(CSRF_COOKIE)
        if not raw:
            return None
        try:
            value = self.serializer("csrf").loads(raw, max_age=CSRF_MAX_AGE_S)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def set_csrf(self, response: Response, request: Request, token: str) -> None:
        self._set(response, request, CSRF_COOKIE, self.serializer("csrf").dumps(token), CSRF_MAX_AGE_S)

    def check_csrf(self, request: Request, submitted: object) -> None:
        expected = self.csrf_token(request)
        if expected is None or not isinstance(submitted, str) or not hmac.compare_digest(expected, submitted):
            raise Forbidden("the form's CSRF token is missing or is not this browser's; reload the page and retry")

    @staticmethod
    def _set(response: Response, request: Request, name: str, value: str, max_age: int = CSRF_MAX_AGE_S) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
