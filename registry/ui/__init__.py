"""The web UI for people: server-rendered pages at ``/`` (Jinja2, a little plain JavaScript, SVG charts drawn on
the server), the offline API docs, and the static assets, all shipped in the package. Pages reuse the API's
route functions and services, so they enforce exactly the API's rules; the session cookie stands in for the
Authorization header."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from registry.runtime import Runtime
from registry.ui.api_docs import install_api_docs
from registry.ui.pages import artifacts, auth, browse, compose, jobs
from registry.ui.session import SessionCookies, load_session_secret

STATIC_DIR = Path(__file__).parent / "static"


def install_ui(app: FastAPI, runtime: Runtime) -> None:
    settings = runtime.settings
    app.state.ui_cookies = SessionCookies(load_session_secret(settings), settings.session_hours * 3600)
    for pages in (auth, browse, artifacts, compose, jobs):
        app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_api_docs(app)
