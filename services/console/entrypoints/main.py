"""Starts the worker console: python -m console.entrypoints.main (HTTP :8080, metrics :9109).
SIGTERM stops taking new connections and lets pages in flight finish (live inbox streams are
closed: their browsers reconnect to another replica)."""

from __future__ import annotations

import logging

import uvicorn

from console.config import load_console_settings
from console.entrypoints.app import create_app
from runtime.logs import configure_logging
from runtime.metrics import serve_metrics

log = logging.getLogger("cdsp.console")


def main() -> None:
    settings = load_console_settings()
    configure_logging("console", settings.log_level)
    serve_metrics(settings.metrics_addr)
    host, _, port = settings.addr.rpartition(":")
    config = uvicorn.Config(create_app(settings), host=host or "0.0.0.0", port=int(port),
                            log_config=None, access_log=False, timeout_graceful_shutdown=10,
                            server_header=False)
    log.info("console listening on %s", settings.addr)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
