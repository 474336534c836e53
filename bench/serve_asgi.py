"""Serve a bench app the way `appointments serve` serves the application (the same
function: with N workers, a listening socket of its own for each), so that the ceilings
and the no-audit app compare like with like. Logging stays uvicorn's default, as it
was under the `uvicorn` command, access lines included.

    python bench/serve_asgi.py ceiling_app:app --port 8001 --workers 2
    python bench/serve_asgi.py no_audit_app:create_app --factory --port 8002 --workers 2

Modules are found in bench/ (this script's directory is first on the path, and spawned
workers inherit the path).
"""

from __future__ import annotations

import argparse

from appointments.entrypoints.serving import serve_asgi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app", help="module:attribute, e.g. ceiling_app:app")
    parser.add_argument("--factory", action="store_true", help="the attribute builds the app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve_asgi(args.app, args.host, args.port, args.workers, factory=args.factory)


if __name__ == "__main__":
    main()
