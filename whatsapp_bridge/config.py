"""Settings read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    pass


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


PACING_NAMES = ("min_gap_ms", "jitter_ms", "hourly_cap", "daily_cap", "typing_ms", "warmup_days", "warmup_start")


@dataclass(frozen=True)
class Settings:
    api_key: str
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str = "http://127.0.0.1:3000"
    data_dir: Path = Path("whatsapp_bridge_data")
    database_url: str = ""
    default_engine: str = "sandbox"
    sandbox: bool = True
    events_url: str = ""
    events_secret: str = ""
    events_batch: int = 50
    events_retry_base_ms: int = 500
    events_retry_max_ms: int = 30_000
    # Pacing the operator set in the environment (unset ones come from the engine's defaults).
    pacing_env: dict = field(default_factory=dict)
    events_max_attempts: int = 10
    qr_first_ms: int = 60_000
    qr_rotation_ms: int = 20_000
    qr_codes: int = 6
    reconnect_base_ms: int = 1000
    reconnect_max_ms: int = 60_000
    reconnect_max_attempts: int = 20
    # How long an engine that reconnects by itself (whatsmeow) gets before it is rebuilt;
    # whatsmeow forces its own reconnect after 3 min without keep-alive answers.
    reconnect_grace_ms: int = 300_000
    sandbox_connect_ms: int = 300
    sandbox_delivered_ms: int = 1000
    sandbox_read_ms: int = 3000
    max_body_bytes: int = 64 * 1024
    max_message_chars: int = 4096
    max_media_bytes: int = 16 * 1024 * 1024
    threads: int = 64
    log_level: str = "INFO"
    engines: tuple[str, ...] = field(default=("sandbox", "whatsmeow", "cloud"))
    default_region: str = "CO"
    graph_url: str = "https://graph.facebook.com/v25.0"
    credentials_key: str = ""
    cloud_info_refresh_s: int = 600
    max_webhook_bytes: int = 3 * 1024 * 1024

    @property
    def state_db_path(self) -> Path:
        return self.data_dir / "bridge.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def max_media_body_bytes(self) -> int:
        # Media travels base64-encoded inside the JSON body: 4/3 of the file plus the rest.
        return self.max_media_bytes * 4 // 3 + 4 + self.max_body_bytes

    @property
    def qr_total_ms(self) -> int:
        return self.qr_first_ms + max(0, self.qr_codes - 1) * self.qr_rotation_ms


# The Node/Baileys server this bridge replaces read these names; deployments that still set
# them keep working, and the BRIDGE_* name wins when both are set.
ALIASES = {"BRIDGE_API_KEY": "API_KEY", "BRIDGE_PORT": "PORT"}


def _with_aliases(env: dict) -> dict:
    for name, old in ALIASES.items():
        if not env.get(name, "").strip() and env.get(old, "").strip():
            env[name] = env[old]
    return env


def _region(env: dict) -> str:
    import phonenumbers

    region = (env.get("BRIDGE_DEFAULT_REGION", "").strip() or "CO").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"BRIDGE_DEFAULT_REGION must be a two-letter region such as CO, got {region!r}")
    return region


def load(env: dict | None = None) -> Settings:
    env = _with_aliases(dict(os.environ if env is None else env))
    api_key = env.get("BRIDGE_API_KEY", "").strip()
    if not api_key:
        raise ConfigError("BRIDGE_API_KEY is not set: refusing to start an unauthenticated bridge")
    host = env.get("BRIDGE_HOST", "").strip() or "127.0.0.1"
    port = _int(env, "BRIDGE_PORT", 3000)
    data_dir = Path(env.get("BRIDGE_DATA_DIR", "").strip() or "whatsapp_bridge_data").resolve()
    database_url = env.get("BRIDGE_DATABASE_URL", "").strip() or str(data_dir / "whatsmeow.sqlite3")
    sandbox = _bool(env, "BRIDGE_SANDBOX", True)
    engines = ("sandbox", "whatsmeow", "cloud") if sandbox else ("whatsmeow", "cloud")
    # A bridge that must never reach WhatsApp (the fuzz run, demos) can keep only some engines.
    chosen = [name.strip() for name in env.get("BRIDGE_ENGINES", "").split(",") if name.strip()]
    if chosen:
        unknown = sorted(set(chosen) - set(engines))
        if unknown:
            raise ConfigError(f"BRIDGE_ENGINES names engines this bridge does not have: {', '.join(unknown)}")
        engines = tuple(name for name in engines if name in chosen)
    default_engine = env.get("BRIDGE_DEFAULT_ENGINE", "").strip() or ("sandbox" if sandbox else "whatsmeow")
    if default_engine not in engines:
        raise ConfigError(f"BRIDGE_DEFAULT_ENGINE must be one of {', '.join(engines)}, got {default_engine!r}")
    events_url = env.get("BRIDGE_EVENTS_URL", "").strip()
    events_secret = env.get("BRIDGE_EVENTS_SECRET", "")
    if events_url and not events_secret:
        raise ConfigError("BRIDGE_EVENTS_SECRET is required when BRIDGE_EVENTS_URL is set")
    if events_secret == api_key:
        raise ConfigError("BRIDGE_EVENTS_SECRET must differ from BRIDGE_API_KEY: one leaked value would grant both")
    return Settings(
        api_key=api_key,
        host=host,
        port=port,
        public_url=(env.get("BRIDGE_PUBLIC_URL", "").strip() or f"http://{host}:{port}").rstrip("/"),
        data_dir=data_dir,
        database_url=database_url,
        default_engine=default_engine,
        sandbox=sandbox,
        events_url=events_url,
        events_secret=events_secret,
        events_batch=max(1, _int(env, "BRIDGE_EVENTS_BATCH", 50)),
        events_retry_base_ms=_int(env, "BRIDGE_EVENTS_RETRY_BASE_MS", 500),
        events_retry_max_ms=_int(env, "BRIDGE_EVENTS_RETRY_MAX_MS", 30_000),
        pacing_env={
            name: _int(env, f"BRIDGE_SEND_{name.upper()}", 0)
            for name in PACING_NAMES
            if env.get(f"BRIDGE_SEND_{name.upper()}", "").strip()
        },
        events_max_attempts=max(1, _int(env, "BRIDGE_EVENTS_MAX_ATTEMPTS", 10)),
        qr_first_ms=_int(env, "BRIDGE_QR_FIRST_MS", 60_000),
        qr_rotation_ms=_int(env, "BRIDGE_QR_ROTATION_MS", 20_000),
        qr_codes=max(1, _int(env, "BRIDGE_QR_CODES", 6)),
        reconnect_base_ms=_int(env, "BRIDGE_RECONNECT_BASE_MS", 1000),
        reconnect_max_ms=_int(env, "BRIDGE_RECONNECT_MAX_MS", 60_000),
        reconnect_max_attempts=_int(env, "BRIDGE_RECONNECT_MAX_ATTEMPTS", 20),
        reconnect_grace_ms=_int(env, "BRIDGE_RECONNECT_GRACE_MS", 300_000),
        sandbox_connect_ms=_int(env, "BRIDGE_SANDBOX_CONNECT_MS", 300),
        sandbox_delivered_ms=_int(env, "BRIDGE_SANDBOX_DELIVERED_MS", 1000),
        sandbox_read_ms=_int(env, "BRIDGE_SANDBOX_READ_MS", 3000),
        max_body_bytes=_int(env, "BRIDGE_MAX_BODY_BYTES", 64 * 1024),
        max_message_chars=_int(env, "BRIDGE_MAX_MESSAGE_CHARS", 4096),
        max_media_bytes=_int(env, "BRIDGE_MAX_MEDIA_BYTES", 16 * 1024 * 1024),
        threads=max(8, _int(env, "BRIDGE_THREADS", 64)),
        log_level=(env.get("BRIDGE_LOG_LEVEL", "").strip() or "INFO").upper(),
        engines=engines,
        default_region=_region(env),
        graph_url=(env.get("BRIDGE_GRAPH_API_URL", "").strip() or "https://graph.facebook.com/v25.0").rstrip("/"),
        # Cloud API tokens are encrypted at rest with this; without it, a key derived from
        # BRIDGE_API_KEY is used (rotating that key then needs the credentials entered again).
        credentials_key=env.get("BRIDGE_CREDENTIALS_KEY", "").strip() or "api-key:" + api_key,
        cloud_info_refresh_s=_int(env, "BRIDGE_CLOUD_INFO_REFRESH_S", 600),
        max_webhook_bytes=_int(env, "BRIDGE_MAX_WEBHOOK_BYTES", 3 * 1024 * 1024),
    )
