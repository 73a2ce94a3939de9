#!/usr/bin/env bash
# Run once by the postgres image on a new data volume (docker-entrypoint-initdb.d).
# One database per service, owned by a role that is neither superuser nor BYPASSRLS, so the
# row-level security policies the migrations create apply to the service.
set -euo pipefail
: "${CDSP_DB_PASSWORD:?set CDSP_DB_PASSWORD}"
for service in registry aid employment volunteer notification; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
       -v role="cdsp_${service}" -v password="$CDSP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
SQL
done
