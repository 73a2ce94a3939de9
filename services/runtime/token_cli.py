"""Mints a development token.

    python -m runtime.token_cli --role grid_worker --scope /3505/350502/ \
        [--subject w-001] [--ttl 3600]

The signing key is CDSP_TOKEN_SECRET, or the development key when it is unset. Prints the token;
pass it as the `authorization: Bearer <token>` metadata of every call.
"""

from __future__ import annotations

import argparse
import os

from runtime.auth import ROLES, mint_token
from runtime.settings import DEV_TOKEN_SECRET


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subject", default="dev-worker")
    parser.add_argument("--role", default="grid_worker", choices=sorted(ROLES))
    parser.add_argument("--scope", action="append", required=True,
                        help="a jurisdiction path; repeat for several")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    args = parser.parse_args(argv)
    secret = os.environ.get("CDSP_TOKEN_SECRET", DEV_TOKEN_SECRET)
    print(mint_token(secret, args.subject, args.role, args.scope, args.ttl))


if __name__ == "__main__":
    main()
