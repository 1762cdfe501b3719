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
from .engines.cloud import CloudEngine, CloudHub, Credentials, GraphError, WebhookRefused
from .errors import BODY, ApiError, error_responses
from .events import Dispatcher, EventQueue
from .guard import Guard
from .logs import current_org
from .media import MediaRejected, MediaStore, from_body, media_response
from .metrics import Metrics
from .phones import InvalidPhone, to_e164
from .schemas import (
    CloudCredentialsBody,
    OrgBody,
    PacingBody,
    PairingCodeBody,
    SendMessageBody,
    SendMessagesAnswer,
    SendMessagesBody,
    StartSessionBody,
)
from .sessions import BridgeStopping, SessionError, SessionManager
from .store import Store
from .workers import WorkerRegistry, proc_figures

log = logging.getLogger("whatsapp_bridge.app")

OUTSIDE_WINDOW = (
    "outside the 24 h customer-service window: this number has not written in the last 24 hours, "
    "so only an approved template can be sent"
)


def _engine_factories(settings: Settings, store: Store, media: MediaStore, hub: CloudHub, workers: WorkerRegistry):
    factories = {}
    if settings.sandbox:
        from .engines.sandbox import SandboxEngine, SandboxNetwork

        network = SandboxNetwork(settings, store, media)
        factories["sandbox"] = lambda org, sink: SandboxEngine(org, sink, network)
    else:
        network = None

    def whatsmeow(org, sink):
        from .engines.whatsmeow import WhatsmeowEngine

        return WhatsmeowEngine(
            org, sink, store, settings.database_url, workers, media_max_bytes=settings.max_media_bytes
        )

    factories["whatsmeow"] = whatsmeow
    factories["cloud"] = lambda org, sink: CloudEngine(org, sink, hub)
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
        hub = CloudHub(settings, lambda: app.state.manager)
        workers = WorkerRegistry()
        factories, network = _engine_factories(settings, store, media, hub, workers)
        manager = SessionManager(settings, store, queue, metrics, factories, media)
        metrics.session_counts = manager.counts
        metrics.queue_depth = store.event_depth
        metrics.workers = workers.snapshot
        metrics.dead_letters = store.dead_event_count
        dispatcher = Dispatcher(
            queue,
            settings.events_url,
            settings.events_secret,
            settings.events_batch,
            settings.events_retry_base_ms,
            settings.events_retry_max_ms,
            metrics,
            settings.events_max_attempts,
        )
        app.state.settings, app.state.store, app.state.metrics = settings, store, metrics
        app.state.manager, app.state.network = manager, network
        app.state.cloud, app.state.workers = hub, workers
        app.state.dispatcher = dispatcher
        dispatcher.start()
        await manager.boot()
        log.info("bridge ready", extra={"sessions": len(manager.sessions), "sandbox": settings.sandbox})
        try:
            yield
        finally:
            await manager.shutdown()
            await dispatcher.stop()
            await hub.close()
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

    @app.exception_handler(BridgeStopping)
    async def _stopping(_request: Request, _exc: BridgeStopping):
        return JSONResponse(
            {"error": "the bridge is restarting: send again in a moment", "error_code": "bridge_stopping"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(EngineError)
    async def _engine_error(_request: Request, exc: EngineError):
        return JSONResponse({"error": exc.message, "error_code": exc.code}, status_code=502)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        # Starlette's 405 names only the first matching route's methods; a path served by two routes
        # (GET and PUT) must list both. FastAPI's only 400 is an unreadable body.
        field = {"field": "body"} if exc.status_code == 400 else {}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            from starlette.routing import Match

            methods = set()
            for route in request.app.routes:
                match, _child = route.matches({**request.scope, "method": "GET"})
                if match != Match.NONE and getattr(route, "methods", None):
                    methods |= set(route.methods)
            if methods:
                headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse({"error": str(exc.detail), **field}, status_code=exc.status_code, headers=headers)

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
        elif field == "messages" and len(names) > 1:
            field = ".".join(names)  # messages.3.phone: the batch item and its field
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
        max_webhook_body=settings.max_webhook_bytes,
    )

    def manager(request: Request) -> SessionManager:
        return request.app.state.manager

    def session_or_404(request: Request, organization_id: str):
        current_org.set(organization_id)
        session = manager(request).get(organization_id)
        if session is None:
            raise ApiError(404, "unknown organization: no session was ever started for it", "organization_id")
        return session

    def status_body(session) -> dict:
        engine = session.engine
        return {**session.public_status(), "default_region": session.region, **engine.describe()}

    async def settled(session):
        # A QR or a resumed connection usually follows within a moment; answering with it
        # saves the caller a round trip.
        for _ in range(40):
            if session.status != "connecting":
                break
            await asyncio.sleep(0.05)
        return status_body(session)

    @app.post("/api/start-session", tags=["sessions"], responses=error_responses(*BODY, 409))
    async def start_session(body: StartSessionBody, request: Request):
        current_org.set(body.organization_id)
        engine = body.engine
        if engine and engine not in request.app.state.settings.engines:
            raise ApiError(400, f"engine {engine!r} is not enabled on this bridge", "engine")
        session = await manager(request).start(body.organization_id, engine, body.default_region)
        return await settled(session)

    @app.post("/api/cloud/credentials", tags=["sessions"], responses=error_responses(*BODY, 409, 502))
    async def cloud_credentials(body: CloudCredentialsBody, request: Request):
        """Connect an organization to the Cloud API; the credentials are checked with Meta first."""
        current_org.set(body.organization_id)
        if "cloud" not in request.app.state.settings.engines:
            raise ApiError(400, "engine 'cloud' is not enabled on this bridge", "engine")
        existing = manager(request).get(body.organization_id)
        if existing is not None and existing.engine_name != "cloud" and existing.linked:
            raise ApiError(
                409,
                "a phone is linked to this organization: unlink it first",
                "organization_id",
                session_status=existing.status,
            )
        creds = Credentials(body.phone_number_id, body.waba_id, body.access_token, body.app_secret, body.verify_token)
        other = request.app.state.cloud.store.organization_for(body.phone_number_id)
        if other is not None and other != body.organization_id:
            raise ApiError(409, "this phone-number id is connected to another organization", "phone_number_id")
        try:
            info = await request.app.state.cloud.graph.phone_info(creds)
        except GraphError as exc:
            field = "access_token" if exc.code in ("190", "http_401") or exc.http_status == 401 else "phone_number_id"
            raise ApiError(422, f"Meta refused these credentials: {exc.message}", field, error_code=exc.code) from None
        except EngineError as exc:
            raise ApiError(502, exc.message, error_code=exc.code) from None
        request.app.state.cloud.store.save(body.organization_id, creds, info)
        already = existing is not None and existing.engine_name == "cloud" and existing.status == "connected"
        session = await manager(request).start(body.organization_id, "cloud", body.default_region)
        if already:
            await session.engine.start()  # new credentials while connected: the number may have changed
        return await settled(session)

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
        current_org.set(organization_id)
        session = manager(request).get(organization_id)
        if session is None:
            # The Node server answered this for an organization it never saw; its callers rely on it.
            return {
                "organization_id": organization_id,
                "status": "disconnected",
                "reason": None,
                "has_qr": False,
                "phone_number": None,
                "engine": None,
            }
        await session.engine.refresh_details()
        return status_body(session)

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
        try:
            phone = to_e164(body.phone, session.region)
        except InvalidPhone as exc:
            raise ApiError(422, str(exc), "phone") from None
        engine = session.engine
        media = None
        if body.media is not None:
            media = media_from_body(body.media, body.message, engine, settings)
        buttons = [b.model_dump() for b in body.buttons] if body.buttons else None
        extra = {}
        if body.template is not None:
            extra["template"] = body.template.model_dump()
        if body.list_message is not None:
            if engine.supports_lists:
                extra["list_message"] = body.list_message.model_dump()
            else:
                # Without native lists the rows become a numbered menu, as buttons do.
                sections = body.list_message.sections
                buttons = [{"id": row.id, "title": row.title} for sec in sections for row in sec.rows]
        if body.template is None and not engine.window_open(phone):
            raise ApiError(422, OUTSIDE_WINDOW, "template", error_code="outside_window")
        deliver_before = body.deliver_before.timestamp() if body.deliver_before else None
        code, answer = await session.send(
            phone, body.message, buttons, body.client_message_id, media, extra or None, deliver_before=deliver_before
        )
        # What the caller is told (queued, sent, failed) is on disk first.
        await request.app.state.store.durable()
        if code == 502 and (field := engine.refusal(answer.get("error_code"))):
            # Meta refused it for good: 4xx, so callers record the failure instead of retrying.
            return JSONResponse({**answer, "field": field}, status_code=422)
        return JSONResponse(answer, status_code=code)

    @app.post(
        "/api/send-messages",
        tags=["messages"],
        response_model=SendMessagesAnswer,
        responses=error_responses(*BODY, 404, 409),
    )
    async def send_messages(body: SendMessagesBody, request: Request):
        """Up to 100 text messages of one organization in one call, sent in their order.

        Each message is taken as /api/send-message takes it (the same checks, the same
        `client_message_id` rule: a repeat is answered, never sent twice) and gets in `results` what
        that route would have answered: `http_status` 200 sent, 202 queued, 422 refused (the field
        named), 502 failed. Input the route would refuse (a phone that is not a number, a bad button)
        refuses the whole batch with 422 naming `messages.<index>.<field>`, before anything is sent.
        A session that cannot send answers 409 for the whole batch, as /api/send-message does.
        """
        session = session_or_404(request, body.organization_id)
        engine = session.engine
        prepared, results = [], {}
        for index, item in enumerate(body.messages):
            if len(item.message) > settings.max_message_chars:
                raise ApiError(
                    422, f"message is longer than {settings.max_message_chars} characters", f"messages.{index}.message"
                )
            try:
                phone = to_e164(item.phone, session.region)
            except InvalidPhone as exc:
                raise ApiError(422, str(exc), f"messages.{index}.phone") from None
            buttons = [b.model_dump() for b in item.buttons] if item.buttons else None
            extra = {}
            if item.template is not None:
                extra["template"] = item.template.model_dump()
            if item.list_message is not None:
                if engine.supports_lists:
                    extra["list_message"] = item.list_message.model_dump()
                else:
                    buttons = [{"id": row.id, "title": row.title} for sec in item.list_message.sections
                               for row in sec.rows]
            if item.template is None and not engine.window_open(phone):
                results[index] = (422, {"error": OUTSIDE_WINDOW, "field": "template", "error_code": "outside_window"})
                continue
            prepared.append((index, {
                "phone": phone, "text": item.message, "buttons": buttons, "client_message_id": item.client_message_id,
                "extra": extra or None,
                "deliver_before": item.deliver_before.timestamp() if item.deliver_before else None,
            }))
        if prepared:
            answers = await session.send_batch([message for _index, message in prepared])
            for (index, _message), answer in zip(prepared, answers, strict=True):
                results[index] = answer
            # What the caller is told (queued, sent, failed) is on disk first.
            await request.app.state.store.durable()
        out = []
        for index, item in enumerate(body.messages):
            code, answer = results[index]
            if code == 502 and (field := engine.refusal(answer.get("error_code"))):
                code, answer = 422, {**answer, "field": field}
            out.append({"client_message_id": item.client_message_id, "http_status": code, **answer})
        return {"results": out}

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
        if not session.engine.supports_pairing_code:
            raise ApiError(
                409,
                f"the {session.engine_name} engine has no pairing code",
                "organization_id",
                session_status=session.status,
            )
        return {"code": await session.pairing_code(body.phone)}

    @app.post("/api/logout", tags=["sessions"], responses=error_responses(*BODY, 404))
    async def logout(body: OrgBody, request: Request):
        session = session_or_404(request, body.organization_id)
        await session.logout()
        return session.public_status()

    @app.get("/webhooks/whatsapp", tags=["cloud"], response_class=Response, responses=error_responses(400, 403))
    async def webhook_verify(request: Request):
        """Meta's subscription check: echo hub.challenge when hub.verify_token is a connected account's."""
        q = request.query_params
        try:
            challenge = request.app.state.cloud.verify_subscription(
                q.get("hub.mode"), q.get("hub.verify_token"), q.get("hub.challenge")
            )
        except WebhookRefused as exc:
            return JSONResponse({"error": exc.error, "field": exc.field}, status_code=exc.status)
        return Response(challenge, media_type="text/plain")

    @app.post("/webhooks/whatsapp", tags=["cloud"], responses=error_responses(400, 401, 404, 503))
    async def webhook_receive(request: Request):
        body = await request.body()
        try:
            count = await request.app.state.cloud.receive(body, request.headers.get("x-hub-signature-256"))
        except WebhookRefused as exc:
            log.warning("cloud webhook refused", extra={"http_status": exc.status, "field": exc.field})
            return JSONResponse({"error": exc.error, "field": exc.field}, status_code=exc.status)
        return {"received": count}

    @app.get("/api/pacing/{organization_id}", tags=["sessions"], responses=error_responses(401, 404, 422))
    async def pacing_get(organization_id: str, request: Request):
        session = session_or_404(request, organization_id)
        return {"pacing": session.pacing_config.as_dict(), "own": request.app.state.store.pacing(organization_id)}

    @app.put("/api/pacing/{organization_id}", tags=["sessions"], responses=error_responses(*BODY, 404))
    async def pacing_put(organization_id: str, body: PacingBody, request: Request):
        session = session_or_404(request, organization_id)
        request.app.state.store.set_pacing(organization_id, body.model_dump(exclude_none=True))
        session.apply_pacing()
        return {"pacing": session.pacing_config.as_dict(), "own": request.app.state.store.pacing(organization_id)}

    @app.get("/api/workers", tags=["operations"], responses=error_responses(401))
    async def workers(request: Request):
        """The whatsmeow worker processes: pid, RSS, threads, fds, restarts, last health answer."""
        return {"workers": request.app.state.workers.snapshot(), "bridge": proc_figures()}

    @app.get("/api/health", tags=["operations"])
    async def health(request: Request):
        state = request.app.state
        events = {
            "queued": state.store.event_depth(),
            "dead_letters": state.store.dead_event_count(),
            "config_error": state.dispatcher.config_error,
        }
        return {
            "status": "degraded" if events["config_error"] else "ok",
            "sessions": manager(request).counts(),
            "events": events,
        }

    @app.get("/metrics", tags=["operations"], response_class=Response, responses=error_responses(401))
    async def metrics(request: Request):
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.sandbox:
        app.include_router(sandbox_routes.router)

    return app
