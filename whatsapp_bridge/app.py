"""The HTTP API of DESIGN.md's bridge contract, plus the sandbox's own routes."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import sandbox_routes
from .config import Settings
from .engines.base import EngineError, Media
from .errors import BODY, ApiError, error_responses
from .events import Dispatcher, EventQueue
from .guard import Guard
from .logs import current_org
from .media import MediaRejected, MediaStore, from_body, media_response
from .metrics import Metrics
from .schemas import OrgBody, PairingCodeBody, SendMessageBody, StartSessionBody
from .sessions import SessionError, SessionManager
from .store import Store

log = logging.getLogger("whatsapp_bridge.app")


def _engine_factories(settings: Settings, store: Store, media: MediaStore):
    factories = {}
    if settings.sandbox:
        from .engines.sandbox import SandboxEngine, SandboxNetwork

        network = SandboxNetwork(settings, store, media)
        factories["sandbox"] = lambda org, sink: SandboxEngine(org, sink, network)
    else:
        network = None

    def whatsmeow(org, sink):
        from .engines.whatsmeow import WhatsmeowEngine

        return WhatsmeowEngine(org, sink, store, settings.database_url)

    factories["whatsmeow"] = whatsmeow
    return factories, network


def media_from_body(body, caption: str, engine, settings: Settings) -> Media:
    """The checked Media of a request body; MediaRejected / ApiError naming the field otherwise."""
    if not engine.supports_media or body.kind not in engine.media_kinds:
        raise ApiError(422, f"the {engine.name} engine cannot send {body.kind} media", "media.kind")
    return from_body(body, caption, settings.max_media_bytes)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # neonize runs every FFI call, and each connected client, on the default executor.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="bridge")
        )
        store = Store(settings.state_db_path)
        metrics = Metrics()
        queue = EventQueue(store)
        media = MediaStore(settings.media_dir, store)
        factories, network = _engine_factories(settings, store, media)
        manager = SessionManager(settings, store, queue, metrics, factories, media)
        metrics.session_counts = manager.counts
        metrics.queue_depth = store.event_depth
        dispatcher = Dispatcher(
            queue,
            settings.events_url,
            settings.events_secret,
            settings.events_batch,
            settings.events_retry_base_ms,
            settings.events_retry_max_ms,
            metrics,
        )
        app.state.settings, app.state.store, app.state.metrics = settings, store, metrics
        app.state.manager, app.state.network = manager, network
        dispatcher.start()
        await manager.boot()
        log.info("bridge ready", extra={"sessions": len(manager.sessions), "sandbox": settings.sandbox})
        try:
            yield
        finally:
            await manager.shutdown()
            await dispatcher.stop()
            store.close()

    app = FastAPI(
        title="OpticaApp WhatsApp bridge",
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(MediaRejected)
    async def _media_rejected(_request: Request, exc: MediaRejected):
        return JSONResponse({"error": exc.message, "field": exc.field}, status_code=exc.status)

    @app.exception_handler(SessionError)
    async def _session_error(_request: Request, exc: SessionError):
        return JSONResponse(
            {"error": exc.message, "field": "organization_id", "session_status": exc.status}, status_code=409
        )

    @app.exception_handler(EngineError)
    async def _engine_error(_request: Request, exc: EngineError):
        return JSONResponse({"error": exc.message, "error_code": exc.code}, status_code=502)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        # Starlette's 405 carries the route's `Allow` header; keep it. FastAPI's only 400 is an unreadable body.
        field = {"field": "body"} if exc.status_code == 400 else {}
        return JSONResponse({"error": str(exc.detail), **field}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return JSONResponse({"error": "request body is not valid JSON", "field": "body"}, status_code=400)
        names = [str(p) for p in first.get("loc", ()) if p not in ("body", "path", "query")]
        field = names[0] if names else "body"
        if field == "media" and len(names) > 1:
            field = f"media.{names[1]}"
        message = first.get("msg", "invalid input")
        return JSONResponse(
            {
                "error": f"{field}: {message}",
                "field": field,
                "detail": jsonable_encoder(errors, exclude={"ctx", "input"}),
            },
            status_code=422,
        )

    app.add_middleware(
        Guard,
        api_key=settings.api_key,
        max_body=settings.max_body_bytes,
        max_media_body=settings.max_media_body_bytes,
    )

    def manager(request: Request) -> SessionManager:
        return request.app.state.manager

    def session_or_404(request: Request, organization_id: str):
        current_org.set(organization_id)
        session = manager(request).get(organization_id)
        if session is None:
            raise ApiError(404, "unknown organization: no session was ever started for it", "organization_id")
        return session

    @app.post("/api/start-session", tags=["sessions"], responses=error_responses(*BODY, 409))
    async def start_session(body: StartSessionBody, request: Request):
        current_org.set(body.organization_id)
        engine = body.engine
        if engine and engine not in request.app.state.settings.engines:
            raise ApiError(400, f"engine {engine!r} is not enabled on this bridge", "engine")
        session = await manager(request).start(body.organization_id, engine)
        # A QR or a resumed connection usually follows within a moment; answering with it
        # saves the caller a round trip.
        for _ in range(40):
            if session.status != "connecting":
                break
            await asyncio.sleep(0.05)
        return session.public_status()

    @app.get("/api/qr/{organization_id}", tags=["sessions"], responses=error_responses(401, 404, 422))
    async def qr(organization_id: str, request: Request):
        session = session_or_404(request, organization_id)
        if session.status != "qr_ready" or not session.qr_text:
            raise ApiError(
                404, "no QR code is pending for this organization", "organization_id", session_status=session.status
            )
        return {
            "qr": session.qr_png,
            "qr_text": session.qr_text,
            "expires_at": session.qr_expires_at,
            "index": session.qr_index,
        }

    @app.get("/api/status/{organization_id}", tags=["sessions"], responses=error_responses(401, 404, 422))
    async def status(organization_id: str, request: Request):
        return session_or_404(request, organization_id).public_status()

    @app.post(
        "/api/send-message",
        tags=["messages"],
        responses={202: {"description": "Accepted and queued: sent when the session is connected and paced."},
                   **error_responses(*BODY, 404, 409, 502)},
    )
    async def send_message(body: SendMessageBody, request: Request):
        settings: Settings = request.app.state.settings
        if body.media is None and len(await request.body()) > settings.max_body_bytes:
            # Only media earns the larger body limit of this route.
            raise ApiError(413, f"body larger than {settings.max_body_bytes} bytes", "body")
        if len(body.message) > settings.max_message_chars:
            raise ApiError(422, f"message is longer than {settings.max_message_chars} characters", "message")
        session = session_or_404(request, body.organization_id)
        media = None
        if body.media is not None:
            media = media_from_body(body.media, body.message, session.engine, settings)
        buttons = [b.model_dump() for b in body.buttons] if body.buttons else None
        code, answer = await session.send(body.phone, body.message, buttons, body.client_message_id, media)
        return JSONResponse(answer, status_code=code)

    @app.get("/api/media/{organization_id}/{media_id}", tags=["messages"], responses=error_responses(401, 404, 422))
    async def media_file(organization_id: str, media_id: str, request: Request):
        """A stored file (inbound, or a send's own) of this organization; 404 for any other's."""
        session_or_404(request, organization_id)
        found = request.app.state.manager.media.load(organization_id, media_id)
        if found is None:
            raise ApiError(404, "no media with this id for this organization", "media_id")
        return media_response(found, request.app.state.manager.media.row(organization_id, media_id))

    @app.post("/api/pairing-code", tags=["sessions"], responses=error_responses(*BODY, 404, 409, 502))
    async def pairing_code(body: PairingCodeBody, request: Request):
        session = session_or_404(request, body.organization_id)
        return {"code": await session.pairing_code(body.phone)}

    @app.post("/api/logout", tags=["sessions"], responses=error_responses(*BODY, 404))
    async def logout(body: OrgBody, request: Request):
        session = session_or_404(request, body.organization_id)
        await session.logout()
        return session.public_status()

    @app.get("/api/health", tags=["operations"])
    async def health(request: Request):
        return {"status": "ok", "sessions": manager(request).counts()}

    @app.get("/metrics", tags=["operations"], response_class=Response, responses=error_responses(401))
    async def metrics(request: Request):
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.sandbox:
        app.include_router(sandbox_routes.router)

    return app
