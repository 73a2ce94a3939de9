"""Keys of the personal identifiers sealed at rest (runtime.pii, runtime.sealed_columns).

    python -m runtime.pii_cli new-key                 a random 32-byte key, base64
    CDSP_DATABASE_URL=... CDSP_PII_KEYS=... CDSP_PII_INDEX_KEY=... \\
        python -m runtime.pii_cli status registry     values per key id (and plaintext left)
        python -m runtime.pii_cli reencrypt registry  seal plaintext left, re-seal every value
                                                      not under the active (first) key

Rotation: put the new key first in CDSP_PII_KEYS (keep the old ones after it), roll the
service out, run `reencrypt`, check `status` shows only the new key id, then drop the old key.
Exit status: 0 done, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from runtime.db import Database
from runtime.logs import configure_logging
from runtime.pii import PiiKeys, new_key
from runtime.sealed_columns import reencrypt, seal_plaintext, sealed_of, status
from runtime.settings import SettingsError

log = logging.getLogger("cdsp.pii")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


async def _run(command: str, service: str, url: str, keys: PiiKeys) -> list[str]:
    columns = sealed_of(service)
    db = Database(url, service, 1, 2)
    await db.open()
    try:
        if command == "reencrypt":
            sealed = await seal_plaintext(db, keys, columns)
            moved = await reencrypt(db, keys, columns)
            return [f"sealed\t{sealed}", f"reencrypted\t{moved}", f"active\t{keys.active}"]
        return [f"{column}\t{kid}\t{rows}" for column, kid, rows in await status(db, columns)]
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.pii_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["new-key", "status", "reencrypt"])
    parser.add_argument("service", nargs="?", help="the owning service, e.g. registry")
    args = parser.parse_args(argv)
    if args.command == "new-key":
        print(new_key())
        return EXIT_OK
    configure_logging(f"{args.service}-pii", os.environ.get("CDSP_LOG_LEVEL", "INFO"))
    url = os.environ.get("CDSP_DATABASE_URL", "")
    if not args.service or not url:
        print("a service and CDSP_DATABASE_URL (its own database) are required",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        keys = PiiKeys.from_env()
        sealed_of(args.service)
    except (SettingsError, ImportError, ValueError) as exc:
        print(f"cannot {args.command} {args.service!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        lines = asyncio.run(_run(args.command, args.service, url, keys))
    except Exception:
        log.exception("%s of %s failed", args.command, args.service)  # no URL, no value logged
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
