"""Mints a development token with the local issuer's private key.

    python -m runtime.token_cli --role grid_worker --scope /3505/350502/ \
        [--subject w-001] [--ttl 3600] [--audience cdsp-registry ...] [--person ID] [--ward ID ...]
        [--key .local/identity/signing-key.json] [--issuer cdsp]

The key is the one scripts/devstack.py generated for the local stack (`make up`), whose JWKS the
local services trust; CDSP_TOKEN_SIGNING_KEY names another file. The token is good for every
service (audience cdsp-<service>) unless --audience says otherwise. Prints the token; pass it as
the `authorization: Bearer <token>` metadata of every call. Production tokens come from the city's
identity provider, never from here (the services there refuse a key whose kid starts "dev-").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runtime.auth import ROLES
from runtime.token_signing import DEFAULT_ISSUER, SERVICE_AUDIENCES, load_key, mint_token

DEFAULT_KEY = Path(".local") / "identity" / "signing-key.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subject", default="dev-worker")
    parser.add_argument("--role", default="grid_worker", choices=sorted(ROLES))
    parser.add_argument("--scope", action="append", required=True,
                        help="a jurisdiction path; repeat for several")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    parser.add_argument("--audience", action="append",
                        help="a service's audience (cdsp-registry, ...); default: all five")
    parser.add_argument("--person", default="", help="a resident's own person id")
    parser.add_argument("--ward", action="append", default=[], help="a guardian's ward")
    parser.add_argument("--issuer", default=DEFAULT_ISSUER)
    parser.add_argument("--key", type=Path,
                        default=Path(os.environ.get("CDSP_TOKEN_SIGNING_KEY", DEFAULT_KEY)))
    args = parser.parse_args(argv)
    if not args.key.is_file():
        sys.exit(f"no signing key at {args.key}: start the local stack first (`make up`), or "
                 f"pass --key")
    try:
        print(mint_token(load_key(args.key), args.subject, args.role, args.scope, args.ttl,
                         audience=args.audience or SERVICE_AUDIENCES, issuer=args.issuer,
                         person_id=args.person, wards=args.ward))
    except ValueError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
