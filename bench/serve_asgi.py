"""Serve a bench app the way `appointments serve` serves the application (the same
function: with N workers, a listening socket of its own for each), so that the ceilings
and the no-audit app compare like with like. The ceilings keep uvicorn's default logging,
access lines included; `--app-logging` logs as `appointments serve` does (its own access
line, in the configured format), for the no-audit app, which must differ from the app in
nothing but recording.

    python bench/serve_asgi.py ceiling_app:app --port 8001 --workers 2
    python bench/serve_asgi.py no_audit_app:create_app --factory --app-logging
        --port 8002 --workers 2  (one command)

Modules are found in bench/ (this script's directory is first on the path, and spawned
workers inherit the path).
"""

from __future__ import annotations

import argparse
import logging.config

from appointments.container import Container
from appointments.entrypoints.logging import log_config
from appointments.entrypoints.serving import serve_asgi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app", help="module:attribute, e.g. ceiling_app:app")
    parser.add_argument("--factory", action="store_true", help="the attribute builds the app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--app-logging", action="store_true", help="as `appointments serve`")
    args = parser.parse_args()
    if not args.app_logging:
        serve_asgi(args.app, args.host, args.port, args.workers, factory=args.factory)
        return
    settings = Container().settings()
    config = log_config(settings.log_format, settings.environment)
    logging.config.dictConfig(config)
    serve_asgi(
        args.app,
        args.host,
        args.port,
        args.workers,
        factory=args.factory,
        log_config=config,
        access_log=False,  # the app writes its own access line
    )


if __name__ == "__main__":
    main()
