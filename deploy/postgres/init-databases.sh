#!/usr/bin/env bash
# Run once by the postgres image on a new data volume (docker-entrypoint-initdb.d).
# Per service, two roles, neither superuser nor BYPASSRLS: cdsp_<service> owns the database and
# its tables and is used only by the migration step (<service>-migrate in docker-compose.yml);
# cdsp_<service>_app is what the service connects as, granted row access only by that step, so
# row-level security always applies to it and it can never switch it off or change the schema.
# Only these two roles may connect to the database.
set -euo pipefail
: "${CDSP_DB_PASSWORD:?set CDSP_DB_PASSWORD (the roles the services run as)}"
: "${CDSP_DB_OWNER_PASSWORD:?set CDSP_DB_OWNER_PASSWORD (the owners, for migrations only)}"
for service in registry aid employment volunteer notification partner; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v owner="cdsp_${service}" -v app="cdsp_${service}_app" \
       -v owner_password="$CDSP_DB_OWNER_PASSWORD" -v app_password="$CDSP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD :'app_password';
CREATE DATABASE :"owner" OWNER :"owner";
REVOKE ALL ON DATABASE :"owner" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"owner" TO :"app";
SQL
done
