"""The FastAPI application: routers, the error handler, metrics."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry.blobs import BLOB_STORE_ERRORS
from registry.db.outage import database_unavailable
from registry.errors import HTTP_ERROR_NAMES, PatchhubError, Unavailable, error_body
from registry.jobs.router import router as jobs_router
from registry.metrics import MetricsMiddleware, RequestMetrics
from registry.openapi import install_openapi
from registry.request_limits import RequestLimits
from registry.resources.artifacts.files_router import router as artifact_files_router
from registry.resources.artifacts.router import router as artifacts_router
from registry.resources.compositions.files_router import router as composition_files_router
from registry.resources.compositions.router import router as compositions_router
from registry.resources.folder_uploads.router import router as folder_uploads_router
from registry.resources.health.router import router as health_router
from registry.resources.hf.router import router as hf_router
from registry.resources.models.router import router as models_router
from registry.resources.namespaces.router import router as namespaces_router
from registry.resources.uploads.router import router as uploads_router
from registry.runtime import Runtime, build_runtime
from registry.settings import Settings, get_settings
from registry.ui import install_ui

log = logging.getLogger("patchhub")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime(settings or get_settings())
    app = FastAPI(
        title="patchhub",
        version="0.1.0",
        description="Registry for model weights and weight patches (RWS signatures, LAPP-pruned models).",
        docs_url=None,  # served by registry.ui from vendored assets
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.metrics = RequestMetrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    routers = (
        health_router,
        namespaces_router,
        models_router,
        artifacts_router,
        artifact_files_router,
        uploads_router,
        folder_uploads_router,
        compositions_router,
        composition_files_router,
        jobs_router,
    )
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        RequestLimits,
        routes=[route for router in (*routers, hf_router) for route in router.routes],
        max_headers_bytes=runtime.settings.max_request_headers_bytes,
        max_json_body_bytes=runtime.settings.max_json_body_bytes,
        max_json_depth=runtime.settings.max_json_depth,
    )
    _install_error_handlers(app)
    install_openapi(app)
    install_ui(app, runtime)  # pages at /, offline /docs and /redoc, the bearer scheme in the OpenAPI
    app.include_router(hf_router)  # the Hugging Face protocol at the root, after every other route
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PatchhubError)
    async def patchhub_error(_request: Request, exc: PatchhubError) -> JSONResponse:
        return JSONResponse(error_body(exc.error, exc.detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}" for err in exc.errors()
        )
        return JSONResponse(error_body("invalid", problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = HTTP_ERROR_NAMES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(error, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "an unexpected error occurred"), status_code=500)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if not database_unavailable(exc):
            return await unexpected(request, exc)
        log.warning("database unavailable on %s %s (%s)", request.method, request.url.path, type(exc).__name__)
        return await patchhub_error(request, Unavailable("the database is unavailable; retry shortly"))

    async def blob_store_error(request: Request, exc: Exception) -> JSONResponse:
        reason = request.app.state.runtime.store.unavailable_reason(exc)
        if reason is None:
            return await unexpected(request, exc)
        log.warning("blob store unavailable on %s %s: %s", request.method, request.url.path, reason)
        return await patchhub_error(request, Unavailable(f"{reason}; retry later"))

    for error_type in BLOB_STORE_ERRORS:
        app.add_exception_handler(error_type, blob_store_error)
