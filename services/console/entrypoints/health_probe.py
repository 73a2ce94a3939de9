"""The console's health check for places without Kubernetes' own HTTP probe (the image's Docker
HEALTHCHECK, docker-compose):

    python -m console.entrypoints.health_probe                 # this container's console
    python -m console.entrypoints.health_probe --addr console:8080

GET /healthz. Exit status: 0 when it answers 200 "ok", 1 otherwise (another answer, no answer
within the timeout), 2 bad usage. The address defaults to CDSP_CONSOLE_ADDR, a wildcard host
replaced by the loopback address. Standard library only: it starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys

from runtime.health_probe import local_address

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2


def check(addr: str, timeout_s: float) -> str:
    """"ok" when the console at `addr` is healthy, else what it answered instead."""
    host, _, port = addr.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout_s)
    try:
        conn.request("GET", "/healthz")
        reply = conn.getresponse()
        body = reply.read(64).decode(errors="replace").strip()
    except OSError as exc:
        return f"no answer ({type(exc).__name__})"
    finally:
        conn.close()
    return body if reply.status == 200 else f"HTTP {reply.status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.entrypoints.health_probe",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addr", help="host:port (default: from CDSP_CONSOLE_ADDR)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")
    args = parser.parse_args(argv)
    try:
        addr = local_address(args.addr or os.environ.get("CDSP_CONSOLE_ADDR", "127.0.0.1:8080"))
    except ValueError as exc:
        print(f"health_probe: --addr or CDSP_CONSOLE_ADDR: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = check(addr, args.timeout)
    if status == "ok":
        return EXIT_HEALTHY
    print(f"health_probe: http://{addr}/healthz: {status}", file=sys.stderr)
    return EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
