"""`python -m whatsapp_bridge`: one process holding every organization's session."""

from __future__ import annotations

import logging
import sys

import uvicorn

from . import config, logs


def main() -> int:
    try:
        settings = config.load()
    except config.ConfigError as exc:
        sys.stderr.write(f"whatsapp_bridge: configuration error: {exc}\n")
        return 2
    logs.setup(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from .app import create_app

    logging.getLogger("whatsapp_bridge").info(
        "starting bridge",
        extra={"host": settings.host, "port": settings.port, "default_engine": settings.default_engine},
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.log_level == "DEBUG",
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
