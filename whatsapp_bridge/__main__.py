"""`python -m whatsapp_bridge`: one process holding every organization's session.

`python -m whatsapp_bridge replay-dead-letters [ORGANIZATION_ID]` puts the events the receiver
kept refusing back in the queue (the running bridge posts them again); `dead-letters` lists them.
"""

from __future__ import annotations

import json
import logging
import signal
import sys

import uvicorn

from . import config, logs


class _StoppingServer(uvicorn.Server):
    """Tells the sessions at the first SIGINT/SIGTERM, so that a send waiting for its pacing slot
    answers "retry later" at once instead of holding the stop (or being cut with a traceback)."""

    def handle_exit(self, sig, frame) -> None:
        manager = getattr(self.config.app.state, "manager", None)
        if manager is not None:
            manager.begin_stop()
        super().handle_exit(sig, frame)


def dead_letters(settings: config.Settings, argv: list[str]) -> int:
    from .store import Store

    store = Store(settings.state_db_path)
    try:
        if argv[0] == "dead-letters":
            for row in store.dead_events():
                sys.stdout.write(json.dumps(row) + "\n")
            return 0
        moved = store.replay_dead_events(argv[1] if len(argv) > 1 else None)
        sys.stdout.write(f"{moved} event(s) back in the queue\n")
        return 0
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        settings = config.load()
    except config.ConfigError as exc:
        sys.stderr.write(f"whatsapp_bridge: configuration error: {exc}\n")
        return 2
    if argv and argv[0] in ("dead-letters", "replay-dead-letters"):
        return dead_letters(settings, argv)
    if argv:
        sys.stderr.write("usage: python -m whatsapp_bridge [dead-letters | replay-dead-letters [ORGANIZATION_ID]]\n")
        return 2
    logs.setup(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from .app import create_app

    logging.getLogger("whatsapp_bridge").info(
        "starting bridge",
        extra={"host": settings.host, "port": settings.port, "default_engine": settings.default_engine},
    )
    app = create_app(settings)
    server = _StoppingServer(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=settings.log_level == "DEBUG",
            lifespan="on",
            # Last resort for a request that ignores the stop (a send answers at once, see below).
            timeout_graceful_shutdown=10,
        )
    )
    # uvicorn handles the stop signal, then re-raises it to the handler found at start once the
    # shutdown is done: with Python's defaults that is a KeyboardInterrupt traceback (SIGINT) or a
    # death by signal (SIGTERM) after a clean stop. Nothing is left to do by then.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
