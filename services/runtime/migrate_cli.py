"""Applies a service's database migrations and exits: the step a deployment runs before a new
version serves (the Helm chart's pre-install/pre-upgrade hook Job).

    CDSP_DATABASE_URL=postgresql://... python -m runtime.migrate_cli registry

Applies the runtime's migrations, then the service's own (`<service>/migrations`), exactly as the
service does at start-up (runtime.migrations.apply_migrations: one advisory lock, each file once,
a changed applied file is an error). With CDSP_DB_APP_ROLE set, CDSP_DATABASE_URL is the tables'
owner and the named serving role is then granted row access only (runtime.migrations.grant_to);
the service runs as that role with CDSP_MIGRATE_ON_START=false. Exit status: 0 applied or already
up to date, 1 the migrations failed, 2 bad usage or settings. Logs one JSON line per record
(runtime.logs).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import sys
from pathlib import Path

from runtime.logs import configure_logging
from runtime.migrations import RUNTIME_MIGRATIONS, apply_migrations, grant_to

log = logging.getLogger("cdsp.migrate")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    pass


def service_migrations(service: str) -> Path:
    """The migrations folder of the service package `service` (found on the import path
    without importing the service, so its own settings are not read)."""
    if not service.isidentifier() or service == "runtime":
        raise UsageError(f"not a service package name: {service!r}")
    spec = importlib.util.find_spec(service)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"no service package {service!r} on the import path")
    folder = Path(next(iter(spec.submodule_search_locations))) / "migrations"
    if not folder.is_dir():
        raise UsageError(f"service {service!r} has no migrations folder ({folder})")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.migrate_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", help="the service whose database to migrate, e.g. registry")
    args = parser.parse_args(argv)
    configure_logging(f"{args.service}-migrate", os.environ.get("CDSP_LOG_LEVEL", "INFO"))
    url = os.environ.get("CDSP_DATABASE_URL", "")
    try:
        if not url:
            raise UsageError("CDSP_DATABASE_URL is required (this service's own database)")
        folder = service_migrations(args.service)
    except UsageError as e:
        log.error("%s", e)
        return EXIT_USAGE
    app_role = os.environ.get("CDSP_DB_APP_ROLE", "")
    if app_role and not app_role.replace("_", "").isalnum():
        log.error("CDSP_DB_APP_ROLE must be a role name (letters, digits, _), got %r", app_role)
        return EXIT_USAGE
    try:
        applied = asyncio.run(apply_migrations(url, [("runtime", RUNTIME_MIGRATIONS),
                                                     (args.service, folder)]))
        if app_role:
            asyncio.run(grant_to(url, app_role))
            log.info("granted row access to %s", app_role)
    except Exception:
        # The URL is never logged: it carries the database password.
        log.exception("migrations of %s failed", args.service)
        return EXIT_FAILED
    log.info("migrations of %s up to date (%d applied now)", args.service, len(applied))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
