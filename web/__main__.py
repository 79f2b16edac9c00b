"""``python -m web``: serve the web tier on HOST:PORT."""

from __future__ import annotations

from aiohttp import web

from onevice.base.settings import Settings
from onevice.services import logs
from web.app import create_app


def main() -> None:
    settings = Settings.from_env()
    logs.configure(settings)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        shutdown_timeout=settings.shutdown_timeout_seconds,
    )


if __name__ == "__main__":
    main()
